import { describe, expect, it } from 'vitest';
import { batchFailures, isAbsentText } from './ip-batch.ts';

describe('batchFailures', () => {
  it('maps each "Command failed -:N" to the error printed before it (iproute2 6.1 output)', () => {
    const stderr = [
      'RTNETLINK answers: No such process',
      'Command failed -:1',
      'Error: ipv4: Address not found.',
      'Command failed -:2',
      'Cannot find device "nosuchdev"',
      'Command failed -:4',
      '',
    ].join('\n');
    expect(batchFailures(stderr)).toEqual(
      new Map([
        [1, 'RTNETLINK answers: No such process'],
        [2, 'Error: ipv4: Address not found.'],
        [4, 'Cannot find device "nosuchdev"'],
      ]),
    );
  });

  it('gives undefined when stderr has no marker (ip ended the batch itself)', () => {
    expect(batchFailures('RTNETLINK answers: No such file or directory\n')).toBeUndefined();
  });

  it('tells absence from other errors', () => {
    expect(isAbsentText('RTNETLINK answers: No such process')).toBe(true);
    expect(isAbsentText('Error: FIB table does not exist.')).toBe(true);
    expect(isAbsentText('RTNETLINK answers: File exists')).toBe(false);
    expect(isAbsentText('Error: either "to" is duplicate, or "bogus" is a garbage.')).toBe(false);
  });
});
