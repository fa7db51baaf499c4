/**
 * @module
 * Reads container logs where the kubelet writes them, on the nodes' disks (`podLogsDir`:
 * `<namespace>_<pod>_<uid>/<container>/<restart>.log`, CRI format `<time> <stream> <P|F> <text>`), so a
 * test follows its pods' output without the API server, also from a node that has lost power.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Which container's log a line came from. */
export interface LogSource {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** The node folder it was found in. */
  readonly dir: string;
}

/** Follows matching container logs in a set of `podLogsDir`s, polling every `intervalMs`. */
export class PodLogTail {
  readonly #dirs: readonly string[];
  readonly #match: (source: LogSource) => boolean;
  readonly #onLine: (source: LogSource, line: string) => void;
  readonly #offsets = new Map<string, number>();
  readonly #partial = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(
    dirs: readonly string[],
    match: (source: LogSource) => boolean,
    onLine: (source: LogSource, line: string) => void,
  ) {
    this.#dirs = dirs;
    this.#match = match;
    this.#onLine = onLine;
  }

  /** Starts following (from the start of every file). */
  start(intervalMs = 50): this {
    const tick = () => {
      this.#polling = this.poll().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, intervalMs);
      });
    };
    this.#timer = setTimeout(tick, 0);
    return this;
  }

  /** Reads what was appended since the last call. */
  async poll(): Promise<void> {
    for (const dir of this.#dirs) {
      for (const podDir of await readdir(dir).catch(() => [] as string[])) {
        const [namespace, pod] = podDir.split('_');
        if (!namespace || !pod) continue;
        for (const container of await readdir(join(dir, podDir)).catch(() => [] as string[])) {
          const source = { namespace, pod, container, dir };
          if (!this.#match(source)) continue;
          const files = (await readdir(join(dir, podDir, container)).catch(() => [] as string[]))
            .filter((f) => /^\d+\.log$/.test(f))
            .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
          for (const file of files) await this.#read(join(dir, podDir, container, file), source);
        }
      }
    }
  }

  async #read(path: string, source: LogSource): Promise<void> {
    const offset = this.#offsets.get(path) ?? 0;
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const { size } = await handle.stat();
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      const complete = text.lastIndexOf('\n');
      if (complete < 0) return;
      this.#offsets.set(path, offset + Buffer.byteLength(text.slice(0, complete + 1)));
      for (const entry of text.slice(0, complete).split('\n')) {
        // <time> <stream> <P|F> <text>
        const first = entry.indexOf(' ');
        const second = entry.indexOf(' ', first + 1);
        const third = entry.indexOf(' ', second + 1);
        if (third < 0) continue;
        const tag = entry.slice(second + 1, third);
        const body = entry.slice(third + 1);
        const key = `${path}:${entry.slice(first + 1, second)}`;
        if (tag === 'P') {
          this.#partial.set(key, (this.#partial.get(key) ?? '') + body);
          continue;
        }
        const line = (this.#partial.get(key) ?? '') + body;
        this.#partial.delete(key);
        this.#onLine(source, line);
      }
    } finally {
      await handle.close();
    }
  }

  /** Stops following (after a last read). */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    await this.poll();
  }
}
