/**
 * @module
 * The model-based test's commands (fast-check `fc.commands`): what a user, the nodes, the controller's
 * process and the cloud do, each one step against the {@link ModelSystem}, followed by the invariants that
 * hold after every step; `Settle` waits for quiescence and checks the rest (invariants.ts). The model only
 * tracks what exists, so that each command is one that can happen (no deleting what is not there).
 *
 * | command                     | does                                                                   |
 * |-----------------------------|------------------------------------------------------------------------|
 * | CreateGateway / Delete      | gateway g1 or g2 (pools disjoint), admitting every tenant, a, or b      |
 * | SetGatewayTenants           | edits its namespaceSelector                                            |
 * | CreatePolicy / Edit / Delete| p1..p4 in tenant a or b, on g1 or g2 (existing or not), count 1..3 or   |
 * |                             | one explicit IP of the gateway's pool                                  |
 * | FailNode / RecoverNode      | the Node's Ready condition                                             |
 * | Cordon / Uncordon           | spec.unschedulable (a drain)                                           |
 * | RestartController           | a graceful stop, or a crash (kill), then a new controller             |
 * | LoseWrites / DelayWrites /  | the cloud's lies (the next 1..3 writes lost or late by 100..1000 ms;   |
 * | StaleReads                  | the next 1..8 reads answered as of 200..2000 ms ago)                    |
 * | Wait                        | 50..500 ms (reconciles run meanwhile)                                   |
 * | Settle                      | lies stop; quiescence; every invariant                                  |
 *
 * Late writes stay within the model's verification window (ModelSystem.settings: 100 ms doubling to 800 ms,
 * 1.5 s in all): a write landing later than the verification after a change is repaired only by the resync.
 */
import fc from 'fast-check';
import type { GatewayId, ModelSystem, Tenants, Want } from './system.ts';

/** What exists, as far as the commands need to know. */
export interface Model {
  readonly gateways: Set<GatewayId>;
  /** Policy name -> its tenant. */
  readonly policies: Map<string, 'a' | 'b'>;
  readonly notReady: Set<string>;
  readonly cordoned: Set<string>;
}

/** The model of an empty world. */
export const emptyModel = (): Model => ({
  gateways: new Set(),
  policies: new Map(),
  notReady: new Set(),
  cordoned: new Set(),
});

type Step = fc.AsyncCommand<Model, ModelSystem, false>;

/** A command: its precondition, its action, and then the invariants of every step. */
function step(
  name: string,
  check: (m: Readonly<Model>) => boolean,
  act: (m: Model, r: ModelSystem) => Promise<void>,
  options: { settles?: boolean } = {},
): Step {
  return {
    check,
    run: async (m, r) => {
      r.log.push(name);
      await act(m, r);
      if (options.settles) await r.settle();
      else await r.checkSafety();
    },
    toString: () => name,
  };
}

const gateway = fc.constantFrom<GatewayId>('g1', 'g2');
const tenants = fc.constantFrom<Tenants>('all', 'a', 'b');
const policyName = fc.constantFrom('p1', 'p2', 'p3', 'p4');
const tenant = fc.constantFrom<'a' | 'b'>('a', 'b');
const node = fc.constantFrom('n1', 'n2', 'n3');
const want: fc.Arbitrary<Want> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((count) => ({ count })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((ip) => ({ ip })) },
);
const wantText = (w: Want) => ('count' in w ? `count ${w.count}` : `IP #${w.ip}`);

/** Every command's arbitrary; some more than once, to weigh them. */
export function modelCommands(): fc.Arbitrary<Step>[] {
  const createGateway = fc.tuple(gateway, tenants).map(([g, t]) =>
    step(
      `CreateGateway(${g}, ${t})`,
      (m) => !m.gateways.has(g),
      async (m, r) => {
        await r.createGateway(g, t);
        m.gateways.add(g);
      },
    ),
  );
  const deleteGateway = gateway.map((g) =>
    step(
      `DeleteGateway(${g})`,
      (m) => m.gateways.has(g),
      async (m, r) => {
        await r.deleteGateway(g);
        m.gateways.delete(g);
      },
    ),
  );
  const setTenants = fc.tuple(gateway, tenants).map(([g, t]) =>
    step(
      `SetGatewayTenants(${g}, ${t})`,
      (m) => m.gateways.has(g),
      (_m, r) => r.setGatewayTenants(g, t),
    ),
  );
  const createPolicy = fc.tuple(policyName, tenant, gateway, want).map(([p, t, g, w]) =>
    step(
      `CreatePolicy(${p} in ${t}, ${g}, ${wantText(w)})`,
      (m) => !m.policies.has(p),
      async (m, r) => {
        await r.createPolicy(p, t, g, w);
        m.policies.set(p, t);
      },
    ),
  );
  const editPolicy = fc.tuple(policyName, gateway, want).map(([p, g, w]) =>
    step(
      `EditPolicy(${p}, ${g}, ${wantText(w)})`,
      (m) => m.policies.has(p),
      async (m, r) => {
        await r.editPolicy(p, m.policies.get(p)!, g, w);
      },
    ),
  );
  const deletePolicy = policyName.map((p) =>
    step(
      `DeletePolicy(${p})`,
      (m) => m.policies.has(p),
      async (m, r) => {
        await r.deletePolicy(p, m.policies.get(p)!);
        m.policies.delete(p);
      },
    ),
  );
  const failNode = node.map((n) =>
    step(
      `FailNode(${n})`,
      (m) => !m.notReady.has(n),
      async (m, r) => {
        await r.setNodeReady(n, false);
        m.notReady.add(n);
      },
    ),
  );
  const recoverNode = node.map((n) =>
    step(
      `RecoverNode(${n})`,
      (m) => m.notReady.has(n),
      async (m, r) => {
        await r.setNodeReady(n, true);
        m.notReady.delete(n);
      },
    ),
  );
  const cordon = fc.tuple(node, fc.boolean()).map(([n, on]) =>
    step(
      `${on ? 'Cordon' : 'Uncordon'}(${n})`,
      (m) => m.cordoned.has(n) !== on,
      async (m, r) => {
        await r.cordon(n, on);
        if (on) m.cordoned.add(n);
        else m.cordoned.delete(n);
      },
    ),
  );
  const restart = fc.boolean().map((crash) =>
    step(
      `RestartController(${crash ? 'crash' : 'graceful'})`,
      () => true,
      (_m, r) => r.restartController(crash),
    ),
  );
  const loseWrites = fc.integer({ min: 1, max: 3 }).map((k) =>
    step(
      `LoseWrites(${k})`,
      () => true,
      async (_m, r) => r.lie((l) => l.loseWrites(k)),
    ),
  );
  const delayWrites = fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 100, max: 1000 }))
    .map(([k, ms]) =>
      step(
        `DelayWrites(${k}, ${ms} ms)`,
        () => true,
        async (_m, r) => r.lie((l) => l.delayWrites(k, ms)),
      ),
    );
  const staleReads = fc
    .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 200, max: 2000 }))
    .map(([k, ms]) =>
      step(
        `StaleReads(${k}, ${ms} ms)`,
        () => true,
        async (_m, r) => r.lie((l) => l.staleReads(k, ms)),
      ),
    );
  const wait = fc.integer({ min: 50, max: 500 }).map((ms) =>
    step(
      `Wait(${ms} ms)`,
      () => true,
      () => new Promise((resolve) => setTimeout(resolve, ms)),
    ),
  );
  const settle = fc.constant(
    step(
      'Settle',
      () => true,
      async () => {},
      { settles: true },
    ),
  );
  return [
    createGateway,
    createGateway,
    deleteGateway,
    setTenants,
    createPolicy,
    createPolicy,
    createPolicy,
    editPolicy,
    editPolicy,
    deletePolicy,
    failNode,
    recoverNode,
    cordon,
    restart,
    loseWrites,
    delayWrites,
    staleReads,
    wait,
    settle,
    settle,
  ];
}
