// Over 300 lines: one class; each node's timers (interval, silence deadline, grace) share its state.
/**
 * @module
 * Probes the node agents of gateway nodes (`GET http://<InternalIP>:<port>/healthz`) on a fixed interval
 * and runs each node through the pure state machine of `health-state.ts`. Reports every change of
 * "may hold IPs", so the controller moves IPs at once.
 *
 * ```
 * every interval, per node: send a probe (at most `misses`, at most 3, in flight)
 *   answered ok  ─► probeOk; the silence deadline moves to now + misses × interval
 *   error/timeout ─► probeMiss (misses in a row fail the node)
 *   deadline passes with no answer ─► silent: the node fails, whatever is still in flight
 * ```
 *
 * The deadline is what makes detection fast and steady: a node that dies is failed `misses` × interval after
 * its last answer (BFD's detection time), however long one probe may take; the probe timeout only bounds
 * the sockets held towards a dead node.
 *
 * A deadline that fires more than an interval late, or a silence during which the node's interval timer ran
 * more than an interval late, means this process did not run meanwhile (its event loop stalled: a new
 * leader loading its cloud SDK on a busy node), so answers may be waiting unread. The
 * controller's stall is not the node's silence: the node gets one more detection time from then, once per
 * silence (an answer resets it). Without this, a leader that stalls as it takes over fails every gateway
 * (and damps it) although every agent answered.
 *
 * A new leader inherits no grace: a restart whose old Pod is already gone shows only as a new agent that
 * refuses connections or answers 503. On the nodes of its first sync that have not answered it yet, such an
 * answer opens the restart grace once (see `#inheritedRestart`).
 *
 * A planned agent restart (`agentRestarting` on a node that is not `draining`) moves the deadline to the end
 * of the grace window, `restartGraceMs` after the controller saw it. The window ends with the first answer
 * once the old Pod is gone (the old agent may answer until it stops, so earlier answers do not end it). A
 * node cordoned meanwhile loses the grace: its deadline is its last answer plus the detection time again.
 *
 * With `intervalMs` 0, no probes are sent and the Node's Ready condition alone decides (checked every
 * {@link READY_ONLY_TICK_MS}, so flap damping still ends).
 */
import type { Logger } from '../log.ts';
import {
  type HealthOptions,
  type HealthState,
  initialHealth,
  isHealthy,
  nextHealth,
} from './health-state.ts';

/** A node to probe. */
export interface ProbeTarget {
  readonly node: string;
  /** The node's InternalIP; undefined when it has none (then only Node Ready counts). */
  readonly address: string | undefined;
  readonly ready: boolean;
  /** Its agent's Pod is being deleted (a DaemonSet rollout or a restart). */
  readonly agentRestarting?: boolean;
  /** The Node is cordoned or marked for removal: an agent restart there gets no grace. */
  readonly draining?: boolean;
}

/** Options of a {@link HealthProber}. */
export interface HealthProberOptions extends HealthOptions {
  /** Probe interval per node in ms; 0 disables probing. */
  readonly intervalMs: number;
  /**
   * How long one probe may take before it is abandoned and counts as a miss, in ms. Default: the detection
   * time, `misses` × interval (at least {@link MIN_PROBE_TIMEOUT_MS}). Detection does not wait for it: the
   * silence deadline fails a node whose probes are all still in flight.
   */
  readonly timeoutMs?: number;
  /** Agent health port. */
  readonly port: number;
  /**
   * How long a node whose agent restarts on purpose keeps its IPs without answering probes, in ms; 0 or
   * unset: no grace, a restart is a failure like any other.
   */
  readonly restartGraceMs?: number;
  /** Called when a node's "may hold IPs" changes; `state` says why. */
  readonly onChange: (node: string, healthy: boolean, state: HealthState) => void;
  /** Sends one probe; resolves on success, rejects with the reason. Default: HTTP GET /healthz. */
  readonly probe?: (address: string, port: number, timeoutMs: number) => Promise<void>;
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** One HTTP probe of an agent: 2xx within `timeoutMs` is success. */
export async function httpProbe(address: string, port: number, timeoutMs: number): Promise<void> {
  const host = address.includes(':') ? `[${address}]` : address;
  const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/**
 * Whether a failed probe still reached a running host: an HTTP error status (the agent answered, not
 * ready) or a refused connection (the host answered, nothing listens yet). A timeout or an unreachable
 * host is not.
 */
export function agentAnswered(err: unknown): boolean {
  const codes: unknown[] = [];
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    codes.push((e as NodeJS.ErrnoException).code);
    messages.push(e.message);
  }
  return codes.includes('ECONNREFUSED') || messages.some((m) => /^HTTP \d{3}$|ECONNREFUSED/.test(m));
}

/** The shortest probe timeout used when the timeout defaults to the detection time. */
export const MIN_PROBE_TIMEOUT_MS = 50;

/** The detection time: a node whose agent answered no probe for this long is failed. */
export function detectionMs(options: Pick<HealthProberOptions, 'intervalMs' | 'misses'>): number {
  return options.misses * options.intervalMs;
}

/** The timeout of one probe: `timeoutMs` if set, else the detection time but at least {@link MIN_PROBE_TIMEOUT_MS}. */
export function probeTimeoutMs(
  options: Pick<HealthProberOptions, 'intervalMs' | 'timeoutMs' | 'misses'>,
): number {
  return options.timeoutMs ?? Math.max(MIN_PROBE_TIMEOUT_MS, detectionMs(options));
}

/** Probes in flight per node at most: enough to keep a slow agent's answers coming every interval. */
export const MAX_PROBES_IN_FLIGHT = 3;

const maxInFlight = (misses: number) => Math.min(MAX_PROBES_IN_FLIGHT, Math.max(1, misses));

/** With probing off, how often a Ready node counts as answering (for flap damping to end). */
export const READY_ONLY_TICK_MS = 500;

interface Probed {
  target: ProbeTarget;
  state: HealthState;
  timer: ReturnType<typeof setInterval> | undefined;
  /** Fires when no probe was answered for the detection time. */
  deadline: ReturnType<typeof setTimeout> | undefined;
  /** When the agent last answered (or the node was first probed at its address). */
  lastAnswerAt: number;
  inFlight: number;
  lastError: string | undefined;
  /** A late deadline was already given another detection time since the last answer (see #armDeadline). */
  stallForgiven: boolean;
  /** When this node's interval timer last ran (or its first probe was sent). */
  lastTickAt: number;
  /** When this node's interval timer last ran more than an interval late: the end of this process's stall. */
  stalledAt: number | undefined;
  /** A target of this prober's first sync: a node the previous leader knew (see #inheritedRestart). */
  inherited: boolean;
  /** Its agent has answered a probe of this prober. */
  answered: boolean;
}

/** Keeps the health of every gateway node; see the module comment. */
export class HealthProber {
  readonly #options: HealthProberOptions;
  readonly #nodes = new Map<string, Probed>();
  readonly #probe: NonNullable<HealthProberOptions['probe']>;
  readonly #now: () => number;
  #stopped = false;
  /** The first sync is done: later nodes are new to the cluster, not inherited from a previous leader. */
  #synced = false;

  constructor(options: HealthProberOptions) {
    this.#options = options;
    this.#probe = options.probe ?? httpProbe;
    this.#now = options.now ?? Date.now;
  }

  /** Whether `node` may hold egress IPs now. Unknown nodes: whether they are Ready. */
  healthy(node: string, ready: boolean): boolean {
    const probed = this.#nodes.get(node);
    return probed ? isHealthy(probed.state) : ready;
  }

  /** The state of `node`, if it is probed. */
  state(node: string): HealthState | undefined {
    return this.#nodes.get(node)?.state;
  }

  /**
   * Sets the nodes to probe (the gateway nodes). New nodes start probing; nodes no longer listed stop;
   * a Ready change is fed to the state machine.
   */
  sync(targets: readonly ProbeTarget[]): void {
    if (this.#stopped) return;
    const wanted = new Map(targets.map((t) => [t.node, t]));
    for (const [name, probed] of this.#nodes) {
      if (!wanted.has(name)) {
        this.#clearTimers(probed);
        this.#nodes.delete(name);
      }
    }
    for (const target of targets) {
      const probed = this.#nodes.get(target.node);
      if (!probed) {
        const fresh: Probed = {
          target,
          state: initialHealth(target.ready, this.#now()),
          timer: undefined,
          deadline: undefined,
          lastAnswerAt: this.#now(),
          inFlight: 0,
          lastError: undefined,
          stallForgiven: false,
          lastTickAt: this.#now(),
          stalledAt: undefined,
          inherited: !this.#synced,
          answered: false,
        };
        this.#nodes.set(target.node, fresh);
        const interval = this.#options.intervalMs > 0 ? this.#options.intervalMs : READY_ONLY_TICK_MS;
        fresh.timer = setInterval(() => this.#tick(fresh, interval), interval);
        fresh.timer.unref?.();
        this.#restartGrace(fresh, undefined);
        this.#armDeadline(fresh);
        this.#probeOnce(fresh);
        continue;
      }
      const previous = probed.target;
      probed.target = target;
      // A node that gets its first (or a new) address: the detection time runs from now.
      if (previous.address !== target.address) {
        probed.lastAnswerAt = this.#now();
        this.#armDeadline(probed);
      }
      this.#restartGrace(probed, previous);
      if (probed.state.nodeReady !== target.ready) {
        this.#feed(probed, { kind: 'nodeReady', at: this.#now(), ready: target.ready });
        if (this.#options.intervalMs === 0 && target.ready)
          this.#feed(probed, { kind: 'probeOk', at: this.#now() });
      }
    }
    this.#synced = true;
  }

  /** Marks a node deleted: it fails at once and is no longer probed. */
  deleted(node: string): void {
    const probed = this.#nodes.get(node);
    if (!probed) return;
    this.#clearTimers(probed);
    this.#feed(probed, { kind: 'nodeDeleted', at: this.#now() });
    this.#nodes.delete(node);
  }

  /** Stops every probe. */
  stop(): void {
    this.#stopped = true;
    for (const probed of this.#nodes.values()) this.#clearTimers(probed);
    this.#nodes.clear();
  }

  #probed(probed: Probed): boolean {
    return this.#options.intervalMs > 0 && probed.target.address !== undefined;
  }

  #clearTimers(probed: Probed): void {
    if (probed.timer) clearInterval(probed.timer);
    if (probed.deadline) clearTimeout(probed.deadline);
    probed.timer = undefined;
    probed.deadline = undefined;
  }

  /** Opens a restart's grace window on its rising edge, or closes it when the node is cordoned. */
  #restartGrace(probed: Probed, previous: ProbeTarget | undefined): void {
    const graceMs = this.#options.restartGraceMs ?? 0;
    const { agentRestarting, draining } = probed.target;
    const at = this.#now();
    if (draining && probed.state.graceUntil !== undefined) {
      this.#options.logger?.info(
        { node: probed.target.node },
        'node cordoned: its agent restart gets no grace',
      );
      this.#feed(probed, { kind: 'graceEnded', at });
      this.#armDeadline(probed);
      return;
    }
    if (graceMs <= 0 || !agentRestarting || draining) return;
    if (previous?.agentRestarting && !previous.draining) return;
    this.#feed(probed, { kind: 'restartAnnounced', at, until: at + graceMs });
    if (probed.state.graceUntil === undefined) return;
    this.#options.logger?.info(
      { node: probed.target.node, graceMs },
      'agent restarting: its node keeps its egress IPs until the new agent answers or the grace ends',
    );
    this.#armDeadline(probed);
  }

  /**
   * A new leader cannot see a restart that began before it led: once the old agent Pod is gone, nothing says
   * "restarting" but the new agent, which refuses connections until it listens and answers 503 until its
   * first sync. So on a node of its first sync that has not answered it yet, an agent that is up but not
   * ready (a refused connection or an HTTP error: the host answers; a dead one stays silent) opens the
   * restart grace, once, as the previous leader would have. The first good answer closes it; a node that
   * stays that way fails when the grace ends. Nodes that join later get no such grace.
   */
  #inheritedRestart(probed: Probed, err: unknown): void {
    const graceMs = this.#options.restartGraceMs ?? 0;
    if (graceMs <= 0 || !probed.inherited || probed.answered || probed.target.draining) return;
    if (probed.state.graceUntil !== undefined || !agentAnswered(err)) return;
    probed.inherited = false;
    const at = this.#now();
    this.#feed(probed, { kind: 'restartAnnounced', at, until: at + graceMs });
    if (probed.state.graceUntil === undefined) return;
    this.#options.logger?.info(
      { node: probed.target.node, graceMs },
      'agent up but not ready on a node this leader has not heard from: treated as a restart in progress',
    );
    this.#armDeadline(probed);
  }

  /**
   * (Re)starts the node's silence deadline: the detection time after its last answer, or the end of a
   * restart's grace window if later.
   */
  #armDeadline(probed: Probed, stallDue?: number): void {
    if (probed.deadline) clearTimeout(probed.deadline);
    probed.deadline = undefined;
    if (this.#stopped || !this.#probed(probed)) return;
    const forMs = detectionMs(this.#options);
    const due = Math.max(probed.lastAnswerAt + forMs, probed.state.graceUntil ?? 0, stallDue ?? 0);
    const firesAt = Math.max(due, this.#now());
    probed.deadline = setTimeout(() => {
      probed.deadline = undefined;
      const now = this.#now();
      // Fired more than an interval late, or the node's interval timer did since its last answer: this
      // process did not run for a while (a stall, e.g. a cloud SDK loading as a new leader takes over), and
      // answers may be waiting unread (after a stall, Node runs the due timers before it reads sockets). Its
      // own stall is not the node's silence: once per silence, the node gets a whole detection time from now.
      const late = now - firesAt > this.#options.intervalMs;
      const stalled = probed.stalledAt !== undefined && probed.stalledAt > probed.lastAnswerAt;
      if ((late || stalled) && !probed.stallForgiven) {
        probed.stallForgiven = true;
        this.#options.logger?.info(
          { node: probed.target.node, lateMs: now - firesAt, stalledAt: probed.stalledAt },
          'health deadline fired late (this controller stalled): the node gets another detection time',
        );
        this.#armDeadline(probed, now + forMs);
        return;
      }
      this.#feed(probed, {
        kind: 'silent',
        at: this.#now(),
        forMs: due - probed.lastAnswerAt,
        ...(probed.lastError ? { error: probed.lastError } : {}),
      });
    }, firesAt - this.#now());
    probed.deadline.unref?.();
  }

  /** The node's interval timer: notes a stall of this process (a tick more than an interval late), probes. */
  #tick(probed: Probed, intervalMs: number): void {
    const now = this.#now();
    if (now - probed.lastTickAt > 2 * intervalMs) probed.stalledAt = now;
    probed.lastTickAt = now;
    this.#probeOnce(probed);
  }

  #probeOnce(probed: Probed): void {
    if (this.#stopped || probed.inFlight >= maxInFlight(this.#options.misses)) return;
    const { address } = probed.target;
    if (!address || !this.#probed(probed)) {
      if (probed.target.ready) this.#feed(probed, { kind: 'probeOk', at: this.#now() });
      return;
    }
    probed.inFlight++;
    this.#probe(address, this.#options.port, probeTimeoutMs(this.#options)).then(
      () => {
        probed.inFlight--;
        probed.lastError = undefined;
        if (this.#nodes.get(probed.target.node) !== probed) return;
        probed.lastAnswerAt = this.#now();
        probed.stallForgiven = false;
        probed.answered = true;
        if (probed.state.graceUntil !== undefined && !probed.target.agentRestarting) {
          this.#options.logger?.info({ node: probed.target.node }, 'agent restarted: its node answers again');
          this.#feed(probed, { kind: 'graceEnded', at: this.#now() });
        }
        this.#feed(probed, { kind: 'probeOk', at: this.#now() });
        this.#armDeadline(probed);
      },
      (err: unknown) => {
        probed.inFlight--;
        const error =
          err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        probed.lastError = error;
        this.#inheritedRestart(probed, err);
        this.#feed(probed, { kind: 'probeMiss', at: this.#now(), error });
      },
    );
  }

  #feed(probed: Probed, input: Parameters<typeof nextHealth>[1]): void {
    if (this.#stopped && input.kind !== 'nodeDeleted') return;
    if (this.#nodes.get(probed.target.node) !== probed && input.kind !== 'nodeDeleted') return;
    const before = isHealthy(probed.state);
    const beforeStatus = probed.state.status;
    probed.state = nextHealth(probed.state, input, this.#options);
    const after = isHealthy(probed.state);
    if (beforeStatus !== probed.state.status) {
      this.#options.logger?.info(
        {
          node: probed.target.node,
          from: beforeStatus,
          to: probed.state.status,
          reason: probed.state.reason,
        },
        'node health changed',
      );
    }
    if (before !== after) this.#options.onChange(probed.target.node, after, probed.state);
  }
}
