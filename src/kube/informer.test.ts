import type { KubernetesListObject, V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { listWatchFactory, ResilientInformer } from './informer.ts';

type Done = (err: unknown) => void;
type Callback = (phase: string, obj: unknown) => void;

/**
 * A scripted transport for client-node's real `ListWatch`: records each watch request and lets the test
 * send events or end the watch with an error.
 */
class ScriptedWatch {
  readonly requests: { resourceVersion: string; callback: Callback; done: Done }[] = [];
  async watch(_path: string, params: Record<string, unknown>, callback: Callback, done: Done) {
    this.requests.push({ resourceVersion: String(params['resourceVersion'] ?? ''), callback, done });
    return new AbortController();
  }
  get last() {
    return this.requests.at(-1)!;
  }
}

const node = (name: string, rv: string): V1Node => ({ metadata: { name, resourceVersion: rv } });

/** A delay the test releases by hand, recording the requested durations. */
function manualDelay() {
  const waits: { ms: number; release: () => void }[] = [];
  return {
    waits,
    delay: (ms: number) => new Promise<void>((release) => waits.push({ ms, release })),
  };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function setup(lists: (() => KubernetesListObject<V1Node>)[]) {
  const watch = new ScriptedWatch();
  const timers = manualDelay();
  let listCalls = 0;
  const events: string[] = [];
  const informer = new ResilientInformer<V1Node>({
    name: 'nodes',
    create: listWatchFactory<V1Node>(
      {
        path: '/api/v1/nodes',
        list: async () => {
          const next = lists[Math.min(listCalls, lists.length - 1)]!;
          listCalls++;
          return next();
        },
      },
      { watch },
    ),
    onEvent: (type, obj) => events.push(`${type}:${obj.metadata?.name}`),
    backoff: { baseMs: 100, maxMs: 400, jitter: 0 },
    delay: timers.delay,
  });
  return { watch, timers, informer, events, listCalls: () => listCalls };
}

describe('ResilientInformer', () => {
  it('lists, then watches from the list resourceVersion and applies events to the cache', async () => {
    const { watch, informer, events } = setup([
      () => ({ metadata: { resourceVersion: '10' }, items: [node('a', '9')] }),
    ]);
    await informer.start();
    expect(informer.synced).toBe(true);
    expect(watch.last.resourceVersion).toBe('10');
    watch.last.callback('ADDED', node('b', '11'));
    watch.last.callback('DELETED', node('a', '12'));
    expect(informer.list().map((n) => n.metadata?.name)).toEqual(['b']);
    expect(events).toEqual(['add:a', 'add:b', 'delete:a']);
    await informer.stop();
  });

  it('given 410 Gone, then it relists and reports objects deleted meanwhile', async () => {
    const { watch, informer, events, listCalls } = setup([
      () => ({ metadata: { resourceVersion: '10' }, items: [node('a', '9'), node('b', '9')] }),
      () => ({ metadata: { resourceVersion: '50' }, items: [node('b', '40')] }),
    ]);
    await informer.start();
    watch.last.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await flush();
    expect(listCalls()).toBe(2);
    expect(watch.last.resourceVersion).toBe('50');
    expect(informer.list().map((n) => n.metadata?.name)).toEqual(['b']);
    expect(events).toContain('delete:a');
    await informer.stop();
  });

  it('given a watch error, then it restarts after a capped, growing backoff from the last resourceVersion', async () => {
    const { watch, informer, timers, listCalls } = setup([
      () => ({ metadata: { resourceVersion: '10' }, items: [] }),
    ]);
    await informer.start();
    for (let i = 0; i < 4; i++) {
      watch.last.done(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
      await flush();
      timers.waits.at(-1)!.release();
      await flush();
    }
    expect(timers.waits.map((w) => w.ms)).toEqual([100, 100, 100, 100]);
    expect(informer.restarts).toBe(4);
    expect(listCalls()).toBe(1);
    expect(watch.requests.map((r) => r.resourceVersion)).toEqual(['10', '10', '10', '10', '10']);
    await informer.stop();
  });

  it('given the list keeps failing, then start() retries with growing capped backoff until it succeeds', async () => {
    let failures = 3;
    const { informer, timers, listCalls } = setup([
      () => {
        if (failures-- > 0) throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
        return { metadata: { resourceVersion: '7' }, items: [node('a', '7')] };
      },
    ]);
    const started = informer.start();
    for (let i = 0; i < 3; i++) {
      await flush();
      timers.waits.at(-1)!.release();
    }
    await started;
    expect(timers.waits.map((w) => w.ms)).toEqual([100, 200, 400]);
    expect(listCalls()).toBe(4);
    expect(informer.get('a')?.metadata?.resourceVersion).toBe('7');
    await informer.stop();
  });

  it('does not restart after stop()', async () => {
    const { watch, informer, timers } = setup([() => ({ metadata: { resourceVersion: '1' }, items: [] })]);
    await informer.start();
    await informer.stop();
    watch.last.done(new Error('aborted'));
    await flush();
    expect(timers.waits).toHaveLength(0);
  });
});
