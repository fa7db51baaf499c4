/**
 * @module
 * Scheduler benchmarks: a full plan of 5,000 nodes / 20,000 IPs / 10,000 policies, and the re-plan after
 * one node holding 20 IPs fails (the controller re-plans the failed node's gateway).
 */

import { gatewaySlice } from '../src/scheduler/gateway-slice.ts';
import { schedule } from '../src/scheduler/schedule.ts';
import type { SchedulePlan, SchedulerInput } from '../src/scheduler/types.ts';
import { largeWorld } from './scheduler-world.ts';
import { type BenchResult, median, timeTrials } from './types.ts';

/** The plan as the next round's input (cloud truth and policy status). */
function settled(input: SchedulerInput, plan: SchedulePlan): SchedulerInput {
  const allocated = new Map<string, string[]>();
  for (const p of plan.placements) allocated.set(p.policy, [...(allocated.get(p.policy) ?? []), p.ip]);
  return {
    ...input,
    policies: input.policies.map((p) => ({ ...p, allocated: allocated.get(p.key) ?? [] })),
    current: new Map(plan.placements.map((p) => [p.ip, p.node])),
  };
}

export default async function bench(): Promise<BenchResult[]> {
  const world = largeWorld();
  const ips = world.policies.reduce((n, p) => n + (p.count ?? 0), 0);
  const coldStart = performance.now();
  schedule(world);
  const cold = performance.now() - coldStart;
  const full = await timeTrials(15, () => schedule(world), 1);
  const plan = schedule(world);
  const steady = settled(world, plan);

  const victim = plan.placements.find((p) => p.gateway === 'gw-000')!.node;
  const held = plan.placements.filter((p) => p.node === victim).length;
  const failed: SchedulerInput = {
    ...steady,
    nodes: steady.nodes.map((n) => (n.name === victim ? { ...n, healthy: false } : n)),
  };
  const slice = () => gatewaySlice(failed, 'gw-000');
  const replan = await timeTrials(50, () => schedule(slice()), 3);
  const after = schedule(slice());
  const moved = after.placements.filter((p) => p.previousNode !== undefined);
  const onlyVictims = moved.every((p) => p.previousNode === victim) && moved.length === held;
  const fullReplan = await timeTrials(10, () => schedule(failed), 1);

  return [
    {
      name: `scheduler: full plan, ${world.nodes.length} nodes / ${ips} IPs / ${world.policies.length} policies`,
      value: median(full),
      unit: 'ms',
      trials: full.length,
      target: '<= 100 ms',
      ok: median(full) <= 100 && plan.placements.length === ips,
      note: `placed ${plan.placements.length}; min ${Math.min(...full).toFixed(1)}, max ${Math.max(...full).toFixed(1)}`,
    },
    {
      name: 'scheduler: the same plan as the first call of the process (address conversions not yet memoised)',
      value: cold,
      unit: 'ms',
      trials: 1,
      note: 'includes JIT warm-up; later plans reuse the memoised conversions',
    },
    {
      name: `scheduler: re-plan of the gateway after one node with ${held} IPs fails`,
      value: median(replan),
      unit: 'ms',
      trials: replan.length,
      target: "<= 20 ms, moves only that node's IPs",
      ok: median(replan) <= 20 && onlyVictims,
      note: `moved ${moved.length}, all from the failed node: ${onlyVictims}`,
    },
    {
      name: 'scheduler: re-plan of the whole cluster after the same failure',
      value: median(fullReplan),
      unit: 'ms',
      trials: fullReplan.length,
      note: 'for comparison: the controller re-plans only the affected gateway',
    },
  ];
}
