/**
 * @module
 * The controller process of `npm run bench controller-scale`: `runController` as the CLI runs it (production
 * defaults from `parseConfig`, `--test-providers`), over an in-memory cloud holding the scale world's
 * instances, in its own process so that its memory is its own. It talks to the bench over IPC:
 *
 * | bench -> controller | controller -> bench                                            |
 * |---------------------|----------------------------------------------------------------|
 * | (start)             | `{ type: 'started', ms }` once caches are synced and it leads  |
 * | `{ type: 'idle' }`  | `{ type: 'idle' }` once no reconcile is queued or running      |
 * | `{ type: 'memory' }`| `{ type: 'memory', rss, maxRss, heapUsed, cpuMs }`: bytes (heap |
 * |                     | after a full GC) and CPU time so far                           |
 * | `{ type: 'stop' }`  | exits after a graceful stop                                    |
 * |                     | `{ type: 'failover', node, ms }` (detection -> all Ready)      |
 *
 * `node bench/scale-controller.ts <kubeconfig> <k>`
 */
import { createInMemoryProviderFor, InMemoryCloud } from '../providers/inmemory/index.ts';
import { parseConfig } from '../src/config.ts';
import { runController } from '../src/controller/run-controller.ts';
import { createLogger } from '../src/log.ts';
import { AGENT_NAMESPACE, AGENT_SELECTOR, addScaleInstances, scaleShape } from './scale-world.ts';

const [kubeconfig, k] = process.argv.slice(2);
const send = (message: object) => process.send?.(message);
const config = parseConfig(
  [
    'controller',
    '--kubeconfig',
    kubeconfig ?? '',
    '--test-providers',
    '--provider',
    'inmemory',
    '--probe-interval',
    '0',
    '--leader-elect',
    'false',
    '--agent-pod-namespace',
    AGENT_NAMESPACE,
    '--agent-pod-selector',
    AGENT_SELECTOR,
    '--metrics-bind-address',
    '127.0.0.1:0',
    '--health-probe-bind-address',
    '127.0.0.1:0',
  ],
  {},
);
if (config.command !== 'controller') throw new Error(`unexpected config ${config.command}`);
const cloud = new InMemoryCloud();
addScaleInstances(cloud, scaleShape(Number(k)));
const started = performance.now();
const running = await runController(config.controller, {
  providerMaker: (_name, settings) => createInMemoryProviderFor(cloud, settings),
  onFailover: (node, ms) => send({ type: 'failover', node, ms }),
  logger: createLogger({ level: 'info', name: 'bench-controller' }),
});
send({ type: 'started', ms: performance.now() - started });

process.on('message', (message: { type: string }) => {
  void (async () => {
    if (message.type === 'idle') {
      await running.controller.idle();
      send({ type: 'idle' });
    } else if (message.type === 'memory') {
      const { rss } = process.memoryUsage();
      (globalThis as { gc?: () => void }).gc?.();
      const { heapUsed } = process.memoryUsage();
      const { user, system } = process.cpuUsage();
      send({
        type: 'memory',
        rss,
        heapUsed,
        maxRss: process.resourceUsage().maxRSS * 1024,
        cpuMs: (user + system) / 1000,
      });
    } else if (message.type === 'stop') {
      await running.stop();
      process.exit(0);
    }
  })();
});
