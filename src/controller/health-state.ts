/**
 * @module
 * The pure health state machine of one gateway node, fed by agent probes and the Node's Ready condition.
 *
 * ```
 *              probe ok                 silent for `misses` × interval, `misses` probes failed
 *   unknown ──────────────► healthy ─── in a row, Node NotReady, Node deleted ───────────► failed
 *      │                       ▲                                                            │
 *      │ silent / misses /     │ probes ok for `dampingMs` in a row                         │ probe ok
 *      │ NotReady              │                                                            │ (Node Ready)
 *      └──────► failed         └──────────────────────── recovering ◄───────────────────────┘
 *                                                            │ silent / miss / NotReady
 *                                                            └────────────► failed
 * ```
 *
 * | state      | holds IPs (scheduler `healthy`) | why                                                      |
 * |------------|---------------------------------|----------------------------------------------------------|
 * | unknown    | when the Node is Ready          | not probed yet: do not move IPs away on controller start |
 * | healthy    | yes                             |                                                          |
 * | recovering | no                              | flap damping: it must stay healthy for `dampingMs` first |
 * | failed     | no                              | its IPs move at once                                     |
 *
 * "Silent" is the prober's detection deadline (BFD's detection time): no probe answered for `misses` ×
 * interval, however many are still in flight. A dead node is failed that long after its last answer, not
 * after `misses` probe timeouts; a slow but living agent that answers within that time stays healthy.
 * "Misses" are probes answered with an error (connection refused, HTTP 503): `misses` in a row fail it too.
 *
 * When probing is off, Node Ready counts as a successful probe and NotReady as a failure.
 *
 * A planned agent restart (its Pod deleted by a DaemonSet rollout while the Node stays schedulable) opens a
 * grace window: until `graceUntil`, silence and failed probes do not fail the node, since the dataplane keeps
 * forwarding without its agent. The prober closes it (`graceEnded`) when the new agent answers once the old
 * Pod is gone, or when the Node is cordoned. NotReady and deletion still fail the node at once; silence at
 * the window's end fails it.
 *
 * ```
 * healthy ──restartAnnounced──► healthy, graceUntil = at + grace ──graceEnded──► healthy (window closed)
 *                                     │ silent / miss: ignored until graceUntil
 *                                     │ silent at or after graceUntil, NotReady, deleted
 *                                     └──────────────────────────────────────────────► failed
 * ```
 */

/** Tunables of the state machine. */
export interface HealthOptions {
  /** Probes failed in a row before a node is failed (the prober's silence deadline is `misses` intervals). */
  readonly misses: number;
  /** How long a failed node must answer every probe before it takes IPs again (flap damping). */
  readonly dampingMs: number;
}

/** Status of a node. */
export type HealthStatus = 'unknown' | 'healthy' | 'recovering' | 'failed';

/** The state of one node. */
export interface HealthState {
  readonly status: HealthStatus;
  /** Probes missed in a row. */
  readonly misses: number;
  /** The Node's Ready condition as last seen. */
  readonly nodeReady: boolean;
  /** When `status` last changed (ms since the epoch). */
  readonly since: number;
  /** Why the node is failed, for status messages. */
  readonly reason?: string;
  /** End of a planned agent restart's grace window (ms since the epoch); see the module comment. */
  readonly graceUntil?: number;
}

/** An input of the state machine. */
export type HealthInput =
  | { readonly kind: 'probeOk'; readonly at: number }
  | { readonly kind: 'probeMiss'; readonly at: number; readonly error: string }
  /** No probe was answered for `forMs` (the detection time), whatever is still in flight. */
  | { readonly kind: 'silent'; readonly at: number; readonly forMs: number; readonly error?: string }
  | { readonly kind: 'nodeReady'; readonly at: number; readonly ready: boolean }
  | { readonly kind: 'nodeDeleted'; readonly at: number }
  /** The node's agent is being restarted on purpose: silence is expected until `until`. */
  | { readonly kind: 'restartAnnounced'; readonly at: number; readonly until: number }
  /** The restart's grace window closes: the new agent answered, or the Node was cordoned. */
  | { readonly kind: 'graceEnded'; readonly at: number };

/** The state of a node not probed yet. */
export function initialHealth(nodeReady: boolean, at: number): HealthState {
  return { status: 'unknown', misses: 0, nodeReady, since: at };
}

const to = (
  state: HealthState,
  status: HealthStatus,
  at: number,
  patch: Partial<HealthState> = {},
): HealthState =>
  state.status === status ? { ...state, ...patch } : { ...state, ...patch, status, since: at };

/** Whether a planned agent restart's grace window is open at `at`. */
export function inGrace(state: HealthState, at: number): boolean {
  return state.graceUntil !== undefined && at < state.graceUntil;
}

const withoutGrace = (state: HealthState): HealthState => {
  if (state.graceUntil === undefined) return state;
  const { graceUntil: _, ...rest } = state;
  return rest;
};

/** The next state after `input`. */
export function nextHealth(state: HealthState, input: HealthInput, options: HealthOptions): HealthState {
  switch (input.kind) {
    case 'nodeDeleted':
      return to(withoutGrace(state), 'failed', input.at, { nodeReady: false, reason: 'Node deleted' });
    case 'nodeReady': {
      if (!input.ready)
        return to(withoutGrace(state), 'failed', input.at, { nodeReady: false, reason: 'Node is NotReady' });
      return { ...state, nodeReady: true };
    }
    case 'restartAnnounced':
      // Only a node that holds IPs keeps them through a restart; a failed one stays failed.
      return isHealthy(state) ? { ...state, graceUntil: input.until } : state;
    case 'graceEnded':
      return withoutGrace(state);
    case 'silent': {
      if (inGrace(state, input.at)) return state;
      const during = state.graceUntil !== undefined ? ' (the agent restart took longer than its grace)' : '';
      return to(withoutGrace(state), 'failed', input.at, {
        reason: `agent health probe unanswered for ${input.forMs} ms${input.error ? `: ${input.error}` : ''}${during}`,
      });
    }
    case 'probeMiss': {
      if (inGrace(state, input.at)) return state;
      const misses = state.misses + 1;
      if (state.status === 'recovering' || misses >= options.misses) {
        return to(state, 'failed', input.at, {
          misses,
          reason: `agent health probe failed ${misses} times in a row: ${input.error}`,
        });
      }
      return { ...state, misses };
    }
    case 'probeOk': {
      const ok = { misses: 0 };
      if (!state.nodeReady) return { ...state, ...ok };
      switch (state.status) {
        case 'unknown':
        case 'healthy':
          return to(state, 'healthy', input.at, ok);
        case 'failed':
          return options.dampingMs <= 0
            ? { ...to(state, 'healthy', input.at, ok), reason: undefined }
            : to(state, 'recovering', input.at, ok);
        case 'recovering':
          return input.at - state.since >= options.dampingMs
            ? { ...to(state, 'healthy', input.at, ok), reason: undefined }
            : { ...state, ...ok };
      }
    }
  }
}

/** Whether the node may hold egress IPs (the scheduler's `healthy`). */
export function isHealthy(state: HealthState): boolean {
  return state.status === 'healthy' || (state.status === 'unknown' && state.nodeReady);
}
