import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterPolicy, egressPolicy, inputs, pod } from '../../test/support/policy-fixtures.ts';
import type { LocalPod } from './agent-inputs.ts';
import { assignMarkIds } from './mark-ids.ts';
import {
  DROP_VERDICT,
  podMapIndex,
  type SteeringPolicy,
  steeringByIp,
  steeringEpoch,
  steerPod,
  steersFamily,
} from './pod-steering.ts';
import { pickRendezvous } from './rendezvous.ts';

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
      { map: 2, podIps: ['10.244.1.10'], egressIp: IPS[1], verdict: `goto m${markIds.get(IPS[1]!)}` },
      // No usable IP: the pod's traffic to the policy's destinations is dropped (fail closed).
      { map: 4, podIps: ['10.244.1.10'], egressIp: undefined, verdict: DROP_VERDICT },
    ]);
    expect(steerPod(pod('a', '10.244.1.10', {}, 'lab'), policies, namespaceLabels, steering)).toEqual([]);
  });

  it('leaves the IPv6 addresses of a dual-stack pod alone under a policy that asks for no IPv6', () => {
    const dual = { ...pod('a', '10.244.1.10'), ips: ['fd00::10', '10.244.1.10', '10.244.1.11'] };
    const policies = [{ policy: egressPolicy([]), usable: [IPS[0]!] }];
    const verdicts = steerPod(dual, policies, namespaceLabels, steeringByIp(policies, markIds));
    expect(verdicts.map((v) => [v.map, v.podIps])).toEqual([
      [podMapIndex(0, 4), ['10.244.1.10', '10.244.1.11']],
    ]);
  });

  it('steers each family of a dual-stack pod to an egress IP of that family, keyed in canonical form', () => {
    const v6 = ['2001:db8::5', '2001:db8::6'];
    const ids = new Map([...markIds, [v6[0]!, 40], [v6[1]!, 41]]);
    const dual = { ...pod('a', '10.244.1.10'), ips: ['10.244.1.10', 'FD00:0:0::10'] };
    const asks = egressPolicy([], { egressIPs: [IPS[0]!, v6[0]!] });
    const policies = [{ policy: asks, usable: [IPS[0]!, ...v6] }];
    const verdicts = steerPod(dual, policies, namespaceLabels, steeringByIp(policies, ids));
    expect(verdicts.map((v) => [v.map, v.podIps, v.egressIp])).toEqual([
      [podMapIndex(0, 4), ['10.244.1.10'], IPS[0]],
      [podMapIndex(0, 6), ['fd00::10'], pickRendezvous(dual.uid, v6)],
    ]);
    // Its IPv6 egress IP not usable (yet, or any more): the pod's IPv6 traffic is dropped, never sent from the node.
    const none = [{ policy: asks, usable: [IPS[0]!] }];
    expect(
      steerPod(dual, none, namespaceLabels, steeringByIp(none, ids)).map((v) => [v.map, v.verdict]),
    ).toEqual([
      [podMapIndex(0, 4), `goto m${markIds.get(IPS[0]!)}`],
      [podMapIndex(0, 6), DROP_VERDICT],
    ]);
  });

  it('steers IPv6 for a policy that names an IPv6 egress IP or destination, asks for the family, or holds an IPv6 IP', () => {
    // A dual-stack count policy whose IPv6 IP is still missing drops its IPv6 traffic (fails closed).
    expect(steersFamily(egressPolicy([], { count: 1, ipFamilies: ['IPv4', 'IPv6'] }), 6)).toBe(true);
    expect(steersFamily(egressPolicy([], { count: 1, ipFamilies: ['IPv4'] }), 6)).toBe(false);
    expect(steersFamily(egressPolicy([]), 4)).toBe(true);
    expect(steersFamily(egressPolicy([]), 6)).toBe(false);
    expect(steersFamily(egressPolicy([], { egressIPs: ['2001:db8::5'] }), 6)).toBe(true);
    expect(steersFamily(egressPolicy([], { destinationCIDRs: ['2001:db8:100::/48'] }), 6)).toBe(true);
    const held = egressPolicy([{ ip: '2001:db8::7', node: 'node-2', state: 'Ready' }]);
    expect(steersFamily(held, 6)).toBe(true);
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
