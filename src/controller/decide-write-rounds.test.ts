import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AssignmentState,
  type EgressPolicy,
  type EgressPolicyStatus,
  USABLE_STATES,
} from '../api/egress-policy.ts';
import { decideWriteRounds } from './decide-write-rounds.ts';

type Entry = readonly [ip: string, state: AssignmentState];

const status = (entries: readonly Entry[]): EgressPolicyStatus => ({
  assignments: entries.map(([ip, state]) => ({ ip, node: 'n1', state })),
  ips: entries.map(([ip]) => ip).join(','),
  nodes: entries.length > 0 ? 'n1' : '',
});

const policy = (name: string, entries: readonly Entry[]): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name, namespace: 'team-a' },
  spec: { gatewayName: 'gw', podSelector: {} },
  status: status(entries),
});

const usable = (s: EgressPolicyStatus | undefined) =>
  (s?.assignments ?? []).filter((a) => USABLE_STATES.has(a.state)).map((a) => a.ip);

describe('decideWriteRounds', () => {
  it('writes what gives IPs up in the first round and what takes them in the second', () => {
    const shrinking = policy('shrinking', [
      ['10.0.1.100', 'Ready'],
      ['10.0.1.101', 'Ready'],
    ]);
    const waiting = policy('waiting', [['', 'Failed']]);
    const unchanged = policy('unchanged', [['10.0.1.102', 'Ready']]);
    const [first, second] = decideWriteRounds(
      [shrinking, waiting, unchanged],
      [status([['10.0.1.100', 'Ready']]), status([['10.0.1.101', 'Pending']]), unchanged.status!],
    );
    expect(first.map(usable)).toEqual([['10.0.1.100'], [], ['10.0.1.102']]);
    expect(first[1]).toBeUndefined();
    expect(second.map(usable)).toEqual([[], ['10.0.1.101'], []]);
    expect([second[0], second[2]]).toEqual([undefined, undefined]);
  });

  it('writes a policy that gives up one IP and takes another twice: first without the IP it takes', () => {
    const swapping = policy('swapping', [['10.0.1.100', 'Ready']]);
    const [first, second] = decideWriteRounds(
      [swapping],
      [
        status([
          ['10.0.1.101', 'Pending'],
          ['10.0.1.102', 'Ready'],
        ]),
      ],
    );
    expect(usable(first[0])).toEqual([]);
    expect(first[0]?.ips).toBe('');
    expect(usable(second[0])).toEqual(['10.0.1.101', '10.0.1.102']);
  });

  it('never has an IP usable for two policies between any two writes, if it was not before and is not after', () => {
    const ips = ['10.0.1.100', '10.0.1.101', '10.0.1.102', '10.0.1.103'];
    const states: AssignmentState[] = ['Pending', 'Assigned', 'Ready', 'Failed'];
    // Each IP usable by at most one policy before and after: one owner index (or none) per IP and moment.
    const owners = fc.array(fc.option(fc.nat(2), { nil: undefined }), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(
        owners,
        owners,
        fc.array(fc.constantFrom(...states), { minLength: 4, maxLength: 4 }),
        (was, will, st) => {
          const of = (
            owner: readonly (number | undefined)[],
            p: number,
            state: (i: number) => AssignmentState,
          ) => ips.flatMap((ip, i) => (owner[i] === p ? [[ip, state(i)] as Entry] : []));
          const policies = [0, 1, 2].map((p) =>
            policy(
              `p${p}`,
              of(was, p, () => 'Ready'),
            ),
          );
          const pending = [0, 1, 2].map((p) => status(of(will, p, (i) => st[i]!)));
          // The writes of a round go side by side: check after each, in the given order and in reverse.
          for (const reversed of [false, true]) {
            const stored = policies.map((p) => p.status);
            for (const round of decideWriteRounds(policies, pending)) {
              const order = round.map((_, i) => i);
              for (const i of reversed ? order.reverse() : order) {
                if (!round[i]) continue;
                stored[i] = round[i];
                const all = stored.flatMap(usable);
                expect(new Set(all).size).toBe(all.length);
              }
            }
            expect(stored).toEqual(pending);
          }
        },
      ),
    );
  });
});
