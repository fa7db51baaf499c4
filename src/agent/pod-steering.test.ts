import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterPolicy, egressPolicy, inputs, pod } from '../../test/support/policy-fixtures.ts';
import type { LocalPod } from './agent-inputs.ts';
import { assignMarkIds } from './mark-ids.ts';
import { DROP_VERDICT, type SteeringPolicy, steeringByIp, steeringEpoch, steerPod } from './pod-steering.ts';

const { namespaceLabels } = inputs();
const IPS = ['10.0.1.20', '10.0.1.21', '10.0.1.22', '10.0.1.23', '10.0.1.24', '10.0.1.25'];
const markIds = assignMarkIds(IPS, 0x3fff);
const pods = Array.from({ length: 200 }, (_, i) => pod(`p${i}`, `10.244.${i >> 8}.${i & 255}`));

/** The egress IP each pod is pinned to by one policy (app=api in shop) over `usable`. */
function pinned(usable: readonly string[], all: readonly LocalPod[] = pods): Map<string, string | undefined> {
  const policies = [{ policy: egressPolicy([]), usable }];
  const steering = steeringByIp(policies, markIds);
  return new Map(all.map((p) => [p.uid, steerPod(p, policies, namespaceLabels, steering)[0]?.egressIp]));
}

describe('steerPod', () => {
  it('gives one verdict per selecting policy, indexed by its place, with the IP mark chain', () => {
    const policies: SteeringPolicy[] = [
      { policy: egressPolicy([], { podSelector: { matchLabels: { app: 'web' } } }), usable: [IPS[0]!] },
      { policy: egressPolicy([], {}, 'b'), usable: [IPS[1]!] },
      { policy: clusterPolicy([]), usable: [] },
    ];
    const steering = steeringByIp(policies, markIds);
    const verdicts = steerPod(pod('a', '10.244.1.10'), policies, namespaceLabels, steering);
    expect(verdicts).toEqual([
      { policy: 1, podIps: ['10.244.1.10'], egressIp: IPS[1], verdict: `goto m${markIds.get(IPS[1]!)}` },
      // No usable IP: the pod's traffic to the policy's destinations is dropped (fail closed).
      { policy: 2, podIps: ['10.244.1.10'], egressIp: undefined, verdict: DROP_VERDICT },
    ]);
    expect(steerPod(pod('a', '10.244.1.10', {}, 'lab'), policies, namespaceLabels, steering)).toEqual([]);
  });

  it('keys the elements by the pod IPv4 addresses only', () => {
    const dual = { ...pod('a', '10.244.1.10'), ips: ['fd00::10', '10.244.1.10', '10.244.1.11'] };
    const policies = [{ policy: egressPolicy([]), usable: [IPS[0]!] }];
    const [v] = steerPod(dual, policies, namespaceLabels, steeringByIp(policies, markIds));
    expect(v?.podIps).toEqual(['10.244.1.10', '10.244.1.11']);
  });

  it('pins a pod by its UID, whatever the order of the usable IPs', () => {
    const forward = pinned(IPS);
    expect(pinned([...IPS].reverse())).toEqual(forward);
    expect(pinned([IPS[3]!, IPS[0]!, IPS[5]!, IPS[1]!, IPS[4]!, IPS[2]!])).toEqual(forward);
    // Only the UID counts: a pod that comes back with another IP keeps its egress IP.
    const moved = pods.map((p) => ({ ...p, ips: ['10.245.0.1'] }));
    expect(pinned(IPS, moved)).toEqual(forward);
  });

  it('spreads pods over all usable IPs', () => {
    const perIp = new Map<string | undefined, number>();
    for (const ip of pinned(IPS).values()) perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    expect([...perIp.keys()].sort()).toEqual(IPS);
    for (const n of perIp.values()) expect(n).toBeGreaterThan(200 / IPS.length / 3);
  });

  it('moves only the pods of an IP that goes, and to an IP that comes only pods that then move to it', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...IPS), { minLength: 2, maxLength: IPS.length }),
        fc.nat(),
        (usable, pick) => {
          const removed = usable[pick % usable.length]!;
          const before = pinned(usable);
          const after = pinned(usable.filter((ip) => ip !== removed));
          for (const [uid, ip] of before) {
            if (ip === removed) expect(after.get(uid)).not.toBe(removed);
            else expect(after.get(uid)).toBe(ip);
          }
          // Adding it back: a pod either stays or moves to the added IP.
          for (const [uid, ip] of after) {
            const back = before.get(uid);
            expect(back === ip || back === removed).toBe(true);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('steeringByIp', () => {
  it('gives every usable IP of every policy its mark id and mark chain', () => {
    const policies = [
      { policy: egressPolicy([]), usable: [IPS[0]!, IPS[1]!] },
      { policy: clusterPolicy([]), usable: [IPS[1]!, IPS[2]!] },
    ];
    const steering = steeringByIp(policies, markIds);
    expect([...steering.keys()]).toEqual([IPS[0], IPS[1], IPS[2]]);
    for (const [ip, s] of steering) {
      expect(s).toEqual({ id: markIds.get(ip), verdict: `goto m${markIds.get(ip)}` });
    }
  });
});

describe('steeringEpoch', () => {
  const epoch = (policies: SteeringPolicy[], labels = namespaceLabels, mask = 0x3fff) =>
    steeringEpoch(policies, markIds, labels, mask);
  const ns = [{ policy: egressPolicy([]), usable: [IPS[0]!] }];
  const cluster = [{ policy: clusterPolicy([]), usable: [IPS[0]!] }];
  const relabelled = new Map([...namespaceLabels, ['lab', { team: 'pay' }]]);

  it('stays the same for the same policies, usable IPs and labels', () => {
    expect(epoch(ns)).toBe(epoch([{ policy: egressPolicy([]), usable: [IPS[0]!] }]));
  });

  it('changes with what a verdict depends on: usable IPs, spec, policy order, the mark mask', () => {
    const base = epoch(ns);
    expect(epoch([{ ...ns[0]!, usable: [IPS[1]!] }])).not.toBe(base);
    expect(epoch([{ ...ns[0]!, usable: [] }])).not.toBe(base);
    expect(epoch([{ policy: egressPolicy([], { podSelector: {} }), usable: [IPS[0]!] }])).not.toBe(base);
    expect(epoch([...ns, ...cluster])).not.toBe(epoch([...cluster, ...ns]));
    expect(epoch(ns, namespaceLabels, 0xff)).not.toBe(base);
  });

  it('reads namespace labels only when a ClusterEgressPolicy selects by them', () => {
    expect(epoch(ns, relabelled)).toBe(epoch(ns));
    expect(epoch(cluster, relabelled)).not.toBe(epoch(cluster));
  });

  it('ignores the status: assignment churn that leaves the usable IPs alone keeps cached verdicts', () => {
    const withStatus = [
      { policy: egressPolicy([{ ip: IPS[0]!, node: 'node-2', state: 'Ready' }]), usable: [IPS[0]!] },
    ];
    expect(epoch(withStatus)).toBe(epoch(ns));
  });
});
