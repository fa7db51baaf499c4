/**
 * Tests of the generated CRDs: the committed YAML is fresh, and the generated schemas reject invalid
 * objects with messages a person understands. ajv checks the structural part; the CEL rules are evaluated
 * through a table that gives each rule text its meaning in TypeScript (an unknown rule fails the test), so
 * these tests prove where the rules are attached and what they say. The API server's own CEL evaluation is
 * tested against a real kube-apiserver in test/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { renderCrds } from '../../scripts/render-crds.ts';
import { familyOf, ipToBigInt, isCidr, isIp, poolEntryRange } from '../net/ip.ts';
import { allCrds } from './crd.ts';
import { LABEL_SYNTAX } from './schema-common.ts';
import { validateGatewaySpec } from './validate.ts';

/** What each CEL rule used in the schemas means. */
function celMeaning(rule: string): (self: unknown) => boolean {
  if (rule === 'isIP(self)') return (s) => isIp(s as string);
  if (rule === 'isCIDR(self)') return (s) => isCidr(s as string);
  if (rule.startsWith("self.contains('-') ?")) {
    return (self) => {
      const s = self as string;
      if (!s.includes('-')) return s.includes('/') ? isCidr(s) : isIp(s);
      const parts = s.split('-');
      if (parts.length !== 2 || !isIp(parts[0]!) || !isIp(parts[1]!)) return false;
      if (familyOf(parts[0]!) !== familyOf(parts[1]!)) return false;
      return familyOf(parts[0]!) === 6 || ipToBigInt(parts[0]!) <= ipToBigInt(parts[1]!);
    };
  }
  if (rule.startsWith("!self.contains(':') ||")) {
    return (self) => {
      const s = self as string;
      try {
        return !s.includes(':') || poolEntryRange(s).end - poolEntryRange(s).start < 2n ** 32n;
      } catch {
        return true; // the syntax rule refuses it
      }
    };
  }
  const key = (k: string) => new RegExp(LABEL_SYNTAX.key).test(k) && k.indexOf('/') <= 253;
  if (rule.startsWith('self.key.matches(')) return (s) => key((s as { key: string }).key);
  if (rule.startsWith('self.all(k, k.matches(')) return (s) => Object.keys(s as object).every(key);
  if (rule.startsWith('self.matches(')) return (s) => new RegExp(LABEL_SYNTAX.value).test(s as string);
  if (rule.startsWith("!(self.operator in ['In', 'NotIn'])")) {
    return (s) => {
      const r = s as { operator: string; values?: unknown[] };
      return !['In', 'NotIn'].includes(r.operator) || (r.values?.length ?? 0) > 0;
    };
  }
  if (rule.startsWith("!(self.operator in ['Exists', 'DoesNotExist'])")) {
    return (s) => {
      const r = s as { operator: string; values?: unknown[] };
      return !['Exists', 'DoesNotExist'].includes(r.operator) || (r.values?.length ?? 0) === 0;
    };
  }
  if (rule === '!(has(self.egressIPs) && has(self.count))') {
    return (s) => !('egressIPs' in (s as object) && 'count' in (s as object));
  }
  if (rule === '!(has(self.egressIPs) && has(self.ipFamilies))') {
    return (s) => !('egressIPs' in (s as object) && 'ipFamilies' in (s as object));
  }
  if (rule.startsWith('(has(self.ips) && size(self.ips) > 0) ||')) {
    return (self) => {
      const s = self as { ips?: unknown[]; cloudAllocated?: number };
      return (
        (Array.isArray(s.ips) && s.ips.length > 0) ||
        (typeof s.cloudAllocated === 'number' && s.cloudAllocated > 0)
      );
    };
  }
  throw new Error(`no meaning known for CEL rule: ${rule}`);
}

function message(rule: { message?: string; messageExpression?: string }, self: unknown): string {
  if (rule.message) return rule.message;
  const expr = rule.messageExpression ?? '';
  return expr.replace(/^'\\?"' \+ self \+ '/, `"${String(self)}`).replace(/'$/, '');
}

function validator(file: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    validate: function check(
      rules: { rule: string; message?: string; messageExpression?: string }[],
      data: unknown,
    ) {
      const errors = rules
        .filter((r) => !celMeaning(r.rule)(data))
        .map((r) => ({ keyword: 'x-kubernetes-validations', message: message(r, data), params: {} }));
      (check as unknown as { errors: unknown[] }).errors = errors;
      return errors.length === 0;
    },
    errors: true,
  });
  const crd = allCrds()[file]!;
  const validate = ajv.compile(crd.spec.versions[0]!.schema.openAPIV3Schema);
  return (obj: unknown): string[] =>
    validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const gatewayOk = validator('cloudegress.io_egressgateways.yaml');
const policyOk = validator('cloudegress.io_egresspolicies.yaml');
const clusterPolicyOk = validator('cloudegress.io_clusteregresspolicies.yaml');
const gw = (spec: unknown) => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressGateway',
  metadata: { name: 'g' },
  spec,
});
const pol = (spec: unknown) => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name: 'p' },
  spec,
});
const base = { gatewayName: 'prod', podSelector: { matchLabels: { app: 'api' } } };

describe('crds/', () => {
  it('holds exactly what npm run generate writes', () => {
    for (const [file, text] of Object.entries(renderCrds())) {
      expect(
        readFileSync(join(import.meta.dirname, '../../crds', file), 'utf8'),
        `crds/${file} is stale: run npm run generate`,
      ).toBe(text);
    }
  });

  it('is structural: every object and array has a type, and literal unions are enums', () => {
    const walk = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      expect(n['anyOf'], `${path} uses anyOf`).toBeUndefined();
      expect(n['patternProperties'], `${path} uses patternProperties`).toBeUndefined();
      expect(n['const'], `${path} uses const`).toBeUndefined();
      if (n['properties'] || n['items']) expect(n['type'], `${path} has no type`).toBeDefined();
      for (const [k, v] of Object.entries(n)) walk(v, `${path}.${k}`);
    };
    for (const [file, crd] of Object.entries(allCrds()))
      walk(crd.spec.versions[0]!.schema.openAPIV3Schema, file);
  });
});

describe('EgressGateway schema', () => {
  it('accepts IPs, CIDRs, ranges and cloudAllocated', () => {
    expect(
      gatewayOk(
        gw({
          nodeSelector: {},
          ips: ['10.0.1.10', '10.0.1.16/28', '10.0.1.20-10.0.1.29', '2600:1f18::/120'],
        }),
      ),
    ).toEqual([]);
    expect(gatewayOk(gw({ nodeSelector: { matchLabels: { egress: 'true' } }, cloudAllocated: 2 }))).toEqual(
      [],
    );
  });
  it('rejects a range whose start is after its end', () => {
    expect(gatewayOk(gw({ nodeSelector: {}, ips: ['10.0.1.29-10.0.1.20'] }))).toEqual([
      expect.stringContaining(
        '"10.0.1.29-10.0.1.20" is not an IP, a CIDR (10.0.1.16/28) or a range start-end of one family with start <= end',
      ),
    ]);
  });
  it('rejects a bad CIDR and a mixed-family range', () => {
    expect(gatewayOk(gw({ nodeSelector: {}, ips: ['10.0.1.0/33'] }))).toHaveLength(1);
    expect(gatewayOk(gw({ nodeSelector: {}, ips: ['10.0.1.1-::1'] }))).toHaveLength(1);
  });
  it('rejects a gateway with neither ips nor cloudAllocated', () => {
    expect(gatewayOk(gw({ nodeSelector: {} }))).toEqual([
      expect.stringContaining('set spec.ips (IPs, CIDRs or ranges) or spec.cloudAllocated'),
    ]);
  });
  it('rejects a non-positive maxIPsPerNode', () => {
    expect(gatewayOk(gw({ nodeSelector: {}, ips: ['10.0.1.1'], maxIPsPerNode: 0 }))).toEqual([
      expect.stringContaining('must be >= 1'),
    ]);
  });
  it('leaves IPv6 range order to the controller, which reports it', () => {
    const spec = { nodeSelector: {}, ips: ['2600::20-2600::10'] };
    expect(gatewayOk(gw(spec))).toEqual([]);
    expect(validateGatewaySpec(spec)).toEqual([
      {
        field: 'spec.ips[0]',
        message: '"2600::20-2600::10": the range start 2600::20 is after its end 2600::10',
      },
    ]);
  });
  it('reports overlapping pool entries', () => {
    expect(validateGatewaySpec({ nodeSelector: {}, ips: ['10.0.1.0/28', '10.0.1.5'] })).toEqual([
      { field: 'spec.ips[1]', message: '"10.0.1.5" overlaps "10.0.1.0/28"' },
    ]);
  });
});

describe('EgressPolicy schema', () => {
  it('accepts count or egressIPs', () => {
    expect(
      policyOk(
        pol({ ...base, count: 2, destinationCIDRs: ['203.0.113.0/24'], excludedCIDRs: ['203.0.113.7/32'] }),
      ),
    ).toEqual([]);
    expect(policyOk(pol({ ...base, egressIPs: ['10.0.1.17', '2600:1f18::5'] }))).toEqual([]);
  });
  it('rejects both egressIPs and count', () => {
    expect(policyOk(pol({ ...base, egressIPs: ['10.0.1.17'], count: 1 }))).toEqual([
      expect.stringContaining(
        'set either spec.egressIPs (explicit IPs) or spec.count (IPs picked from the gateway), not both',
      ),
    ]);
  });
  it('accepts ipFamilies with count, and rejects it with egressIPs or an unknown family', () => {
    expect(policyOk(pol({ ...base, count: 1, ipFamilies: ['IPv4', 'IPv6'] }))).toEqual([]);
    expect(policyOk(pol({ ...base, egressIPs: ['10.0.1.17'], ipFamilies: ['IPv4'] }))).toEqual([
      expect.stringContaining('spec.ipFamilies goes with spec.count'),
    ]);
    expect(policyOk(pol({ ...base, count: 1, ipFamilies: ['IPv5'] })).length).toBeGreaterThan(0);
    expect(policyOk(pol({ ...base, count: 1, ipFamilies: [] })).length).toBeGreaterThan(0);
  });
  it('rejects a bad CIDR with a message naming it', () => {
    expect(policyOk(pol({ ...base, destinationCIDRs: ['203.0.113.0/24', '300.1.1.0/24'] }))).toEqual([
      expect.stringContaining('"300.1.1.0/24" is not a CIDR (e.g. 203.0.113.0/24)'),
    ]);
  });
  it('rejects a bad egress IP with a message naming it', () => {
    expect(policyOk(pol({ ...base, egressIPs: ['10.0.1'] }))).toEqual([
      expect.stringContaining('"10.0.1" is not an IP address'),
    ]);
  });
  it('rejects a missing gateway name, an unknown zoneAffinity and a zero count', () => {
    expect(policyOk(pol({ podSelector: {} }))).toEqual([
      expect.stringContaining("must have required property 'gatewayName'"),
    ]);
    expect(policyOk(pol({ ...base, zoneAffinity: 'Sometimes' }))).toEqual([
      expect.stringContaining('must be equal to one of the allowed values'),
    ]);
    expect(policyOk(pol({ ...base, count: 0 }))).toEqual([expect.stringContaining('must be >= 1')]);
  });
  it('requires a namespaceSelector on ClusterEgressPolicy', () => {
    expect(clusterPolicyOk(pol(base))).toEqual([
      expect.stringContaining("must have required property 'namespaceSelector'"),
    ]);
    expect(clusterPolicyOk(pol({ ...base, namespaceSelector: {} }))).toEqual([]);
  });
});
