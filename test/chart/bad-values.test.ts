/**
 * @module
 * Bad values fail `helm template` and `helm lint` with a message naming the value and what is allowed
 * (values.schema.json). The same values against a real API server (`helm install`) are in install.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { BAD_VALUES } from './bad-values.ts';
import { CHART_DIR, helm, valuesArgs } from './chart.ts';

describe.each(BAD_VALUES)('$what', ({ set, message }) => {
  test('fails helm template with a clear message', async () => {
    const result = await helm(['template', 'cloud-egress', CHART_DIR, ...valuesArgs({ set })], {
      check: false,
    });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
    for (const words of message) expect(result.stderr).toContain(words);
  });

  test('fails helm lint', async () => {
    const result = await helm(['lint', CHART_DIR, ...valuesArgs({ set })], { check: false });
    expect(result.code).not.toBe(0);
    for (const words of message) expect(result.stdout + result.stderr).toContain(words);
  });
});

test('a ServiceMonitor without the metrics Service it selects is refused', async () => {
  const result = await helm(
    [
      'template',
      'cloud-egress',
      CHART_DIR,
      ...valuesArgs({
        set: { 'metrics.serviceMonitor.enabled': 'true', 'metrics.service.enabled': 'false' },
      }),
    ],
    { check: false },
  );
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('metrics.serviceMonitor.enabled needs metrics.service.enabled');
});
