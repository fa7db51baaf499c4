/**
 * @module
 * Schema pieces shared by the cloud-egress resources: label selectors, conditions, IP and CIDR strings.
 *
 * Every string and list carries a length bound: the API server's CEL cost estimator needs them, and they
 * keep a single object from growing without limit. Validation rules carry a `messageExpression` that
 * names the offending value, so `kubectl apply` explains itself.
 */
import Type from 'typebox';

/** One CEL validation rule, as `x-kubernetes-validations` spells it. */
export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?:
    | 'FieldValueInvalid'
    | 'FieldValueForbidden'
    | 'FieldValueRequired'
    | 'FieldValueDuplicate';
  readonly fieldPath?: string;
}

/** Schema options carrying CEL rules. */
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** Upper bounds used across the schemas. */
export const LIMITS = {
  /** Longest textual IPv6 address with zone-free notation. */
  ipLength: 45,
  /** IP plus `/128`. */
  cidrLength: 49,
  /** Two IPs and a dash. */
  rangeLength: 91,
  /** Entries of an `ips`, `egressIPs`, `destinationCIDRs` or `excludedCIDRs` list. */
  listItems: 256,
  /** Egress IPs one policy may ask for with `count`. */
  maxCount: 64,
  /** Assignments one policy status may list. */
  statusItems: 1024,
  /** Nodes one gateway status may list. */
  statusNodes: 5000,
  /**
   * Addresses one pool entry may hold: 2^32 (an IPv4 /0, an IPv6 /96). 256 such entries count up to 2^40, well
   * inside the status's integers and JavaScript's exact ones; an IPv6 /64 (2^64) would fit neither.
   */
  poolEntryAddresses: 2n ** 32n,
} as const;

/** An IPv4 or IPv6 address, written the usual way (no zone, no prefix). */
export const IpAddress = Type.String({
  maxLength: LIMITS.ipLength,
  description: 'An IPv4 or IPv6 address, e.g. 10.0.1.10 or 2600:1f18::10.',
  ...cel({
    rule: 'isIP(self)',
    messageExpression: "'\"' + self + '\" is not an IP address (e.g. 10.0.1.10)'",
  }),
});

/** A CIDR, e.g. `10.0.0.0/16` or `::/0`. */
export const Cidr = Type.String({
  maxLength: LIMITS.cidrLength,
  description: 'A CIDR, e.g. 203.0.113.0/24 or 2001:db8::/32.',
  ...cel({
    rule: 'isCIDR(self)',
    messageExpression: "'\"' + self + '\" is not a CIDR (e.g. 203.0.113.0/24)'",
  }),
});

/**
 * CEL for a string that is an IP, a CIDR, or an inclusive `start-end` range of one family with start <= end.
 * For IPv4 the order is checked numerically here; for IPv6 ranges the order is checked by the controller
 * (CEL has no IPv6 ordering) and shows as an `InvalidSpec` condition.
 */
const ipv4Value = (expr: string): string =>
  [0, 1, 2, 3].map((i) => `int(${expr}.split('.')[${i}]) * ${256 ** (3 - i)}`).join(' + ');
const rangeStart = "self.split('-')[0]";
const rangeEnd = "self.split('-')[1]";
const ipRangeRule = [
  `self.contains('-') ? (`,
  `self.split('-').size() == 2 && isIP(${rangeStart}) && isIP(${rangeEnd}) && `,
  `ip(${rangeStart}).family() == ip(${rangeEnd}).family() && `,
  `(ip(${rangeStart}).family() == 6 || ${ipv4Value(rangeStart)} <= ${ipv4Value(rangeEnd)})`,
  `) : (self.contains('/') ? isCIDR(self) : isIP(self))`,
].join('');

/**
 * CEL: an IPv6 entry holds at most 2^32 addresses ({@link LIMITS.poolEntryAddresses}): a CIDR of /96 or longer,
 * or a range whose end lies in the /96 of its start. IPv4 entries always do. Entries that do not parse pass
 * here (the rule above refuses them).
 */
const poolEntrySizeRule = [
  `!self.contains(':') || (self.contains('-') ? (`,
  `self.split('-').size() != 2 || !isIP(${rangeStart}) || !isIP(${rangeEnd}) || `,
  `ip(${rangeStart}).family() != 6 || ip(${rangeEnd}).family() != 6 || `,
  `cidr(${rangeStart} + '/96').containsIP(${rangeEnd})`,
  `) : (!self.contains('/') || !isCIDR(self) || cidr(self).prefixLength() >= 96))`,
].join('');

/** An IP, a CIDR or a `start-end` range: one entry of a gateway's `ips`. */
export const IpPoolEntry = Type.String({
  maxLength: LIMITS.rangeLength,
  description:
    'An IP (10.0.1.10), a CIDR (10.0.1.16/28) or an inclusive range (10.0.1.20-10.0.1.29) of one address family, of at most 2^32 addresses (an IPv6 CIDR of /96 or longer).',
  ...cel(
    {
      rule: ipRangeRule,
      messageExpression:
        "'\"' + self + '\" is not an IP, a CIDR (10.0.1.16/28) or a range start-end of one family with start <= end (10.0.1.20-10.0.1.29)'",
    },
    {
      rule: poolEntrySizeRule,
      messageExpression:
        "'\"' + self + '\" has more than 2^32 addresses, more than a gateway counts in one entry: use an IPv6 CIDR of /96 or longer (e.g. 2001:db8::/112), or a range within one /96'",
    },
  ),
});

/**
 * Label syntax as Kubernetes validates it (apimachinery `IsQualifiedName`, `IsValidLabelValue`), as RE2 for CEL:
 * a key is a name of 1-63 letters, digits, `-`, `_` or `.` starting and ending alphanumeric, with an optional
 * DNS subdomain prefix (at most 253 characters) and `/`; a value is empty or such a name.
 */
export const LABEL_SYNTAX = {
  key: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$',
  value: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
} as const;
const keyOk = (expr: string) => `${expr}.matches('${LABEL_SYNTAX.key}') && ${expr}.indexOf('/') <= 253`;
const KEY_HELP =
  'a name of up to 63 letters, digits, -, _ or ., starting and ending with a letter or digit, with an optional DNS prefix and /';

/** A label value (a `matchLabels` value, a `matchExpressions` value). */
const LabelValue = Type.String({
  maxLength: 63,
  ...cel({
    rule: `self.matches('${LABEL_SYNTAX.value}')`,
    messageExpression:
      "'\"' + self + '\" is not a label value (up to 63 letters, digits, -, _ or ., starting and ending with a letter or digit)'",
  }),
});

/**
 * A label selector requirement (`matchExpressions` entry), as in metav1.LabelSelectorRequirement and validated
 * as Kubernetes validates it: `In` and `NotIn` need values (without, `NotIn` would select everything and `In`
 * nothing), `Exists` and `DoesNotExist` take none.
 */
export const LabelSelectorRequirement = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 317 }),
    operator: Type.Union([
      Type.Literal('In'),
      Type.Literal('NotIn'),
      Type.Literal('Exists'),
      Type.Literal('DoesNotExist'),
    ]),
    values: Type.Optional(Type.Array(LabelValue, { maxItems: 64 })),
  },
  cel(
    {
      rule: keyOk('self.key'),
      messageExpression: `'key "' + self.key + '" is not a label key (${KEY_HELP})'`,
    },
    {
      rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
      messageExpression:
        "'operator ' + self.operator + ' needs at least one value (key \"' + self.key + '\"): without values NotIn would select everything and In nothing'",
    },
    {
      rule: "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
      messageExpression:
        "'operator ' + self.operator + ' takes no values (key \"' + self.key + '\"): remove values, or use In or NotIn'",
    },
  ),
);

/** A Kubernetes label selector with a description. An empty selector (`{}`) selects everything. */
export function labelSelector(description: string) {
  return Type.Object(
    {
      matchLabels: Type.Optional(
        Type.Record(Type.String(), LabelValue, {
          maxProperties: 64,
          ...cel({
            rule: `self.all(k, ${keyOk('k')})`,
            messageExpression: `'key "' + self.filter(k, !(${keyOk('k')}))[0] + '" is not a label key (${KEY_HELP})'`,
          }),
        }),
      ),
      matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirement, { maxItems: 32 })),
    },
    { 'x-kubernetes-map-type': 'atomic', description },
  );
}
/** A Kubernetes label selector. An empty selector (`{}`) selects everything. */
export const LabelSelector = labelSelector('A label selector.');
/** A Kubernetes label selector. */
export type LabelSelector = Type.Static<typeof LabelSelector>;

/** A status condition, shaped like metav1.Condition. */
export const Condition = Type.Object({
  type: Type.String({ maxLength: 316 }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.String({ maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
});
/** A status condition. */
export type Condition = Type.Static<typeof Condition>;

/** The conditions list, a map keyed by type. */
export const Conditions = Type.Array(Condition, {
  maxItems: 16,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** Minimal object metadata as the code reads it (the API server owns the full schema). */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}
