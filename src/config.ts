/**
 * @module
 * The one place that reads the command line and the environment: `parseConfig(argv, env)` returns a frozen,
 * typed {@link Config}; nothing else in the code reads `process.env`.
 *
 * ```
 * cloud-egress controller [flags]   the controller (see CONTROLLER_HELP)
 * cloud-egress agent [flags]        the node agent (src/agent/agent-config.ts)
 * cloud-egress doctor [flags]       each gateway's preflight checks (see DOCTOR_HELP)
 * cloud-egress --help | help        usage
 * ```
 *
 * Flags win over environment variables; environment variables win over defaults.
 *
 * Longer than most files (about 520 lines) on purpose: the controller's help text, its flag table and the
 * parsing of each flag sit together so that what `--help` says and what the parser accepts cannot drift apart
 * (the agent's flags live in src/agent/agent-config.ts the same way).
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import {
  type AgentConfig,
  AgentConfigError,
  AgentHelpRequested,
  parseAgentConfig,
  parseClusterCidrValues,
} from './agent/agent-config.ts';
import { type ControllerConfig, DEFAULT_HANDOVER_SETTLE_MS } from './controller/controller-settings.ts';
import type { ProviderChoice } from './controller/decide-provider.ts';
import { DEFAULT_LEADER_TIMINGS, validateTimings } from './controller/leader-election.ts';
import { DEFAULT_AGENT_HEALTH_PORT } from './kube/agent-health-port.ts';
import type { KubeSource } from './kube/kube-config.ts';
import { DEFAULT_RETURN_PATH, RETURN_PATHS, type ReturnPath } from './kube/return-path.ts';
import { LOG_LEVELS, type LogLevel } from './log.ts';
import type { ProviderSettings } from './provider/contract.ts';
import { PROVIDER_NAMES, providerDescriptor } from './provider/registry.ts';

/** What `cloud-egress doctor` runs on. */
export interface DoctorConfig {
  readonly kube: KubeSource;
  /** `--provider`, as for the controller. */
  readonly provider: ProviderChoice;
  /** The controller's provider settings (annotations override them per gateway). */
  readonly providerSettings: ProviderSettings;
  /** Only this gateway; default every gateway. */
  readonly gateway?: string;
  /**
   * `--cluster-cidr`: the CIDRs the agents are given (the chart's `agent.clusterCIDRs`), which the cluster CIDRs
   * check counts with the discovered ones; default none.
   */
  readonly clusterCidrs?: readonly string[];
  /** `--agent-return-path`: the agents' return path (the chart's `agent.returnPath`); default the agent's. */
  readonly agentReturnPath: ReturnPath;
  /** False with `--agent-no-cluster-cidr-discovery`: only the typed CIDRs count in the cluster CIDRs check. */
  readonly agentClusterCidrDiscovery: boolean;
  readonly logLevel: LogLevel;
}

/** The parsed command line. */
export type Config =
  | { readonly command: 'controller'; readonly controller: ControllerConfig }
  | { readonly command: 'doctor'; readonly doctor: DoctorConfig }
  | { readonly command: 'agent'; readonly agent: AgentConfig }
  | { readonly command: 'help'; readonly text: string };

/** A bad flag or environment value; `message` says which and what is accepted. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Provider choices of `--provider`. */
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', ...PROVIDER_NAMES];

/** Usage of the whole CLI. */
export const MAIN_HELP = `Usage: cloud-egress <command> [flags]

Commands:
  controller   schedule egress IPs onto gateway nodes and move them in the cloud
  agent        program this node's egress datapath (DaemonSet)
  doctor       run each gateway's preflight checks against the cloud and print them with their fixes
  help         show this text; "cloud-egress <command> --help" shows a command's flags
`;

/** Usage of `cloud-egress controller`. */
export const CONTROLLER_HELP = `Usage: cloud-egress controller [flags]

Kubernetes:
  --kubeconfig PATH             kubeconfig file (env KUBECONFIG); default in-cluster, else ~/.kube/config
  --in-cluster                  use the pod's service account even when KUBECONFIG is set
  --cluster-cidr CIDR           a pod or Service CIDR the agents are given (the chart's agent.clusterCIDRs; the
                                agent's flag); repeatable or comma-separated. The cluster CIDRs check of the
                                Preflight condition counts them with the discovered ones
  --agent-return-path MODE      ${RETURN_PATHS.join('|')}: how the agents return replies to tunnelled pods (the
                                chart's agent.returnPath, as the agents are given it; default ${DEFAULT_RETURN_PATH}).
                                The AWS source/destination check of the Preflight condition judges with it
  --agent-no-cluster-cidr-discovery   the agents do not discover cluster CIDRs (the chart's
                                agent.discoverClusterCIDRs: false): the cluster CIDRs check counts only --cluster-cidr

Cloud:
  --provider NAME               ${PROVIDER_CHOICES.join('|')} (default auto: from annotation
                                cloudegress.io/provider, else from the nodes' spec.providerID)
  --test-providers              allow providers made for tests (inmemory: a cloud inside this process)
  --owner ID                    ownership tag value of this installation (env CLOUD_EGRESS_OWNER; default "default")
  --region NAME                 cloud region (annotation cloudegress.io/region overrides)
  --endpoint URL                cloud API endpoint override, e.g. LocalStack (annotation cloudegress.io/endpoint)
  --interface ID                interface holding egress IPs: AWS device index, GCP nic name, Azure NIC index
  --interface-tag KEY=VALUE     AWS: the ENI carrying this tag

Health:
  --probe-interval DURATION     agent health probe interval per gateway node (default 200ms; 0 = Node Ready only)
  --probe-timeout DURATION      how long one probe may take before it counts as a miss (default: misses × interval)
  --probe-misses N              a node fails when no probe was answered for N × interval, or N failed in a row (default 3)
  --probe-damping DURATION      a failed node must answer this long before it takes IPs again (default 10s)
  --agent-health-port PORT      port of the agent's /healthz on the node's InternalIP (default ${DEFAULT_AGENT_HEALTH_PORT})
  --agent-pod-selector LABELS   labels of the agent Pods, k=v[,k=v] (default none: no restart grace). With it, a
                                node whose agent Pod is being deleted (a DaemonSet rollout) keeps its egress IPs
                                until the new agent answers, unless the Node is cordoned or marked for removal
  --agent-pod-namespace NS      namespace of the agent Pods (env POD_NAMESPACE; default cloud-egress)
  --agent-restart-grace DURATION  how long such a node keeps its IPs without answering (default 30s; 0 = no grace)
  --handover-settle DURATION    planned moves off leaving nodes: how long the agents get to program both gateways
                                before the cloud call, and the cloud to deliver to the new one before the agents
                                switch (default 2s; docs/maintenance.md)

Leader election (coordination.k8s.io/v1 Lease):
  --leader-elect BOOL           true|false (default true)
  --leader-election-name NAME   Lease name (default cloud-egress-controller)
  --leader-election-namespace NS  Lease namespace (env POD_NAMESPACE; default cloud-egress)
  --lease-duration DURATION     default 4s
  --renew-deadline DURATION     default 3s
  --retry-period DURATION       default 500ms
  --identity NAME               this replica's identity (env POD_NAME; default the host name)

Operation:
  --metrics-bind-address ADDR   /metrics (default :8080)
  --health-probe-bind-address ADDR  /healthz and /readyz (default :8081)
  --resync-period DURATION      reconcile every gateway against the cloud this often (default 30s)
  --preflight-interval DURATION run a gateway's preflight checks (Preflight condition) at most this often, and
                                when its generation or nodes change, never while IPs move (default 10m)
  --concurrency N               gateways reconciled at once (default 4)
  --log-level LEVEL             ${LOG_LEVELS.join('|')} (env LOG_LEVEL; default info)
  -h, --help                    show this text

Durations: 250ms, 3s, 1m, or a number of milliseconds.
`;

/** Usage of `cloud-egress doctor`. */
export const DOCTOR_HELP = `Usage: cloud-egress doctor [flags]

Lists the EgressGateways and their nodes from the API server, runs each gateway's provider preflight checks
(permissions, free IP slots, what a failover needs) against the cloud, and prints every check with its fix.
Exits 1 when a check failed, 2 on bad flags.

  --kubeconfig PATH             kubeconfig file (env KUBECONFIG); default in-cluster, else ~/.kube/config
  --in-cluster                  use the pod's service account even when KUBECONFIG is set
  --gateway NAME                only this EgressGateway
  --cluster-cidr CIDR           a pod or Service CIDR the agents are given (the chart's agent.clusterCIDRs);
                                repeatable or comma-separated; the cluster CIDRs check counts them with the
                                discovered ones
  --agent-return-path MODE      ${RETURN_PATHS.join('|')}: how the agents return replies to tunnelled pods (the
                                chart's agent.returnPath; default ${DEFAULT_RETURN_PATH}); the AWS source/destination
                                check judges with it
  --agent-no-cluster-cidr-discovery   the agents do not discover cluster CIDRs (agent.discoverClusterCIDRs:
                                false): the cluster CIDRs check counts only --cluster-cidr
  --provider NAME               ${PROVIDER_CHOICES.join('|')} (default auto), as for the controller
  --owner ID                    ownership tag value (env CLOUD_EGRESS_OWNER; default "default")
  --region NAME, --endpoint URL, --interface ID, --interface-tag KEY=VALUE   as for the controller
  --log-level LEVEL             ${LOG_LEVELS.join('|')} (env LOG_LEVEL; default warn)
  -h, --help                    show this text
`;

/** Parses `250ms`, `3s`, `1.5s`, `1m` or a plain number of milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new ConfigError(`${flag}: "${text}" is not a duration (e.g. 200ms, 3s, 1m)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 'ms';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
  return Math.round(value * factor);
}

/** A Kubernetes label name or value part: alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric. */
const LABEL_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Checks an equality-based label selector (`k=v,k2=v2`, keys may have a DNS prefix) and returns its pairs.
 * @throws ConfigError naming the flag and the bad term.
 */
export function parseEqualitySelector(text: string, flag: string): ReadonlyMap<string, string> {
  const pairs = new Map<string, string>();
  for (const term of text.split(',')) {
    const match = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(term);
    const key = match?.[1] ?? '';
    const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
    const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
    const value = match?.[2] ?? '';
    const ok =
      match !== null &&
      LABEL_PART.test(name) &&
      name.length <= 63 &&
      (prefix === '' || /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix)) &&
      (value === '' || (LABEL_PART.test(value) && value.length <= 63));
    if (!ok) throw new ConfigError(`${flag}: "${term}" is not a label selector term key=value`);
    pairs.set(key, value);
  }
  return pairs;
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${flag}: "${text}" is not an integer from ${min} to ${max}`);
  }
  return n;
}

function parseBoolean(text: string, flag: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigError(`${flag}: "${text}" is not true or false`);
}

/**
 * The `--cluster-cidr` values, split and checked by the agent's own parser (`parseClusterCidrValues`), so that the
 * controller, the doctor and the agent accept the same CIDRs and say the same about a bad one.
 * @throws ConfigError naming the flag and the bad CIDR.
 */
function parseClusterCidrs(values: readonly string[] | undefined): readonly string[] {
  try {
    return parseClusterCidrValues(values);
  } catch (err) {
    if (err instanceof AgentConfigError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
}

/**
 * The `--agent-return-path` value, one of the agent's own {@link RETURN_PATHS}; default the agent's.
 * @throws ConfigError naming the flag and the values it takes.
 */
function parseAgentReturnPath(value: string | undefined): ReturnPath {
  const path = value ?? DEFAULT_RETURN_PATH;
  if (!(RETURN_PATHS as readonly string[]).includes(path)) {
    throw new ConfigError(`--agent-return-path: "${path}" is not one of ${RETURN_PATHS.join(', ')}`);
  }
  return path as ReturnPath;
}

/** Parsed flag values: strings, booleans, and the lists of repeatable flags. */
type FlagValues = Record<string, string | boolean | string[] | undefined>;

const CONTROLLER_OPTIONS = {
  kubeconfig: { type: 'string' },
  'in-cluster': { type: 'boolean' },
  'cluster-cidr': { type: 'string', multiple: true },
  'agent-return-path': { type: 'string' },
  'agent-no-cluster-cidr-discovery': { type: 'boolean' },
  provider: { type: 'string' },
  'test-providers': { type: 'boolean' },
  owner: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  interface: { type: 'string' },
  'interface-tag': { type: 'string' },
  'probe-interval': { type: 'string' },
  'probe-timeout': { type: 'string' },
  'probe-misses': { type: 'string' },
  'probe-damping': { type: 'string' },
  'agent-pod-selector': { type: 'string' },
  'agent-pod-namespace': { type: 'string' },
  'agent-restart-grace': { type: 'string' },
  'handover-settle': { type: 'string' },
  'agent-health-port': { type: 'string' },
  'leader-elect': { type: 'string' },
  'leader-election-name': { type: 'string' },
  'leader-election-namespace': { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
  identity: { type: 'string' },
  'metrics-bind-address': { type: 'string' },
  'health-probe-bind-address': { type: 'string' },
  'resync-period': { type: 'string' },
  'preflight-interval': { type: 'string' },
  concurrency: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function parseController(args: readonly string[], env: Env): Config {
  let values: FlagValues;
  try {
    values = parseArgs({
      args: [...args],
      options: CONTROLLER_OPTIONS,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}\n\n${CONTROLLER_HELP}`, {
      cause: err,
    });
  }
  if (values['help']) return { command: 'help', text: CONTROLLER_HELP };
  const str = (name: keyof typeof CONTROLLER_OPTIONS): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const duration = (name: keyof typeof CONTROLLER_OPTIONS, fallback: number) => {
    const v = str(name);
    return v === undefined ? fallback : parseDuration(v, `--${name}`);
  };

  const provider = str('provider') ?? 'auto';
  if (!(PROVIDER_CHOICES as readonly string[]).includes(provider)) {
    throw new ConfigError(`--provider: "${provider}" is not one of ${PROVIDER_CHOICES.join(', ')}`);
  }
  const testProviders = values['test-providers'] === true;
  if (!testProviders && providerDescriptor(provider)?.testOnly) {
    throw new ConfigError(
      `--provider: "${provider}" is for tests only (a cloud inside the controller's process); pass --test-providers to use it`,
    );
  }
  const logLevel = str('log-level') ?? env['LOG_LEVEL'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const interfaceTag = str('interface-tag');
  if (interfaceTag !== undefined && !/^[^=]+=.*$/.test(interfaceTag)) {
    throw new ConfigError(`--interface-tag: "${interfaceTag}" is not KEY=VALUE`);
  }
  const kube = kubeSource(values, env);
  const timings = {
    leaseDurationMs: duration('lease-duration', DEFAULT_LEADER_TIMINGS.leaseDurationMs),
    renewDeadlineMs: duration('renew-deadline', DEFAULT_LEADER_TIMINGS.renewDeadlineMs),
    retryPeriodMs: duration('retry-period', DEFAULT_LEADER_TIMINGS.retryPeriodMs),
  };
  try {
    validateTimings(timings);
  } catch (err) {
    throw new ConfigError(`--lease-duration/--renew-deadline/--retry-period: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const optional = (key: string, value: string | undefined) => (value ? { [key]: value } : {});
  const resyncPeriodMs = duration('resync-period', 30_000);
  const probeTimeout = str('probe-timeout');
  const probeTimeoutMs =
    probeTimeout === undefined ? undefined : parseDuration(probeTimeout, '--probe-timeout');
  if (probeTimeoutMs === 0) throw new ConfigError('--probe-timeout: must be more than 0');
  if (resyncPeriodMs < 1000) throw new ConfigError('--resync-period: must be at least 1s');
  const agentPodSelector = str('agent-pod-selector');
  if (agentPodSelector !== undefined) parseEqualitySelector(agentPodSelector, '--agent-pod-selector');
  const podNamespace = env['POD_NAMESPACE'];
  const clusterCidrs = parseClusterCidrs(values['cluster-cidr'] as string[] | undefined);

  const controller: ControllerConfig = {
    kube,
    logLevel: logLevel as LogLevel,
    metricsAddress: str('metrics-bind-address') ?? ':8080',
    healthAddress: str('health-probe-bind-address') ?? ':8081',
    identity: str('identity') ?? env['POD_NAME'] ?? hostname(),
    settings: {
      provider: provider as ProviderChoice,
      testProviders,
      providerSettings: {
        owner: str('owner') ?? env['CLOUD_EGRESS_OWNER'] ?? 'default',
        ...optional('region', str('region')),
        ...optional('endpoint', str('endpoint')),
        ...optional('interface', str('interface')),
        ...optional('interfaceTag', interfaceTag),
      },
      probe: {
        intervalMs: duration('probe-interval', 200),
        ...(probeTimeoutMs !== undefined ? { timeoutMs: probeTimeoutMs } : {}),
        misses: parseInteger(str('probe-misses') ?? '3', '--probe-misses', 1, 100),
        dampingMs: duration('probe-damping', 10_000),
        restartGraceMs: duration('agent-restart-grace', 30_000),
        agentHealthPort: parseInteger(
          str('agent-health-port') ?? String(DEFAULT_AGENT_HEALTH_PORT),
          '--agent-health-port',
          1,
          65535,
        ),
      },
      handoverSettleMs: duration('handover-settle', DEFAULT_HANDOVER_SETTLE_MS),
      leaderElection: {
        enabled: parseBoolean(str('leader-elect') ?? 'true', '--leader-elect'),
        name: str('leader-election-name') ?? 'cloud-egress-controller',
        namespace: str('leader-election-namespace') ?? podNamespace ?? 'cloud-egress',
        releaseOnCancel: true,
        ...timings,
      },
      ...(agentPodSelector
        ? {
            agentPods: {
              namespace: str('agent-pod-namespace') ?? podNamespace ?? 'cloud-egress',
              labelSelector: agentPodSelector,
            },
          }
        : {}),
      resyncPeriodMs,
      concurrency: parseInteger(str('concurrency') ?? '4', '--concurrency', 1, 64),
      ...(clusterCidrs.length > 0 ? { clusterCidrs } : {}),
      agentReturnPath: parseAgentReturnPath(values['agent-return-path'] as string | undefined),
      agentClusterCidrDiscovery: values['agent-no-cluster-cidr-discovery'] !== true,
      ...(str('preflight-interval') !== undefined
        ? { preflightIntervalMs: duration('preflight-interval', 0) }
        : {}),
    },
  };
  return deepFreeze({ command: 'controller', controller });
}

const DOCTOR_OPTIONS = {
  kubeconfig: { type: 'string' },
  'in-cluster': { type: 'boolean' },
  'cluster-cidr': { type: 'string', multiple: true },
  'agent-return-path': { type: 'string' },
  'agent-no-cluster-cidr-discovery': { type: 'boolean' },
  gateway: { type: 'string' },
  provider: { type: 'string' },
  owner: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  interface: { type: 'string' },
  'interface-tag': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The Kubernetes source of `--kubeconfig` / `--in-cluster` / the environment, as the controller reads it. */
function kubeSource(values: FlagValues, env: Env): KubeSource {
  const kubeconfig =
    (typeof values['kubeconfig'] === 'string' ? values['kubeconfig'] : undefined) ?? env['KUBECONFIG'];
  if (values['in-cluster']) return { kind: 'in-cluster' };
  if (kubeconfig) return { kind: 'file', path: kubeconfig };
  return env['KUBERNETES_SERVICE_HOST'] ? { kind: 'in-cluster' } : { kind: 'default' };
}

function parseDoctor(args: readonly string[], env: Env): Config {
  let values: FlagValues;
  try {
    values = parseArgs({
      args: [...args],
      options: DOCTOR_OPTIONS,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}\n\n${DOCTOR_HELP}`, {
      cause: err,
    });
  }
  if (values['help']) return { command: 'help', text: DOCTOR_HELP };
  const str = (name: keyof typeof DOCTOR_OPTIONS) => {
    const v = values[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const provider = str('provider') ?? 'auto';
  if (!(PROVIDER_CHOICES as readonly string[]).includes(provider)) {
    throw new ConfigError(`--provider: "${provider}" is not one of ${PROVIDER_CHOICES.join(', ')}`);
  }
  const logLevel = str('log-level') ?? env['LOG_LEVEL'] ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const optional = (key: string, value: string | undefined) => (value ? { [key]: value } : {});
  const clusterCidrs = parseClusterCidrs(values['cluster-cidr'] as string[] | undefined);
  const doctor: DoctorConfig = {
    kube: kubeSource(values, env),
    provider: provider as ProviderChoice,
    providerSettings: {
      owner: str('owner') ?? env['CLOUD_EGRESS_OWNER'] ?? 'default',
      ...optional('region', str('region')),
      ...optional('endpoint', str('endpoint')),
      ...optional('interface', str('interface')),
      ...optional('interfaceTag', str('interface-tag')),
    },
    ...optional('gateway', str('gateway')),
    ...(clusterCidrs.length > 0 ? { clusterCidrs } : {}),
    agentReturnPath: parseAgentReturnPath(values['agent-return-path'] as string | undefined),
    agentClusterCidrDiscovery: values['agent-no-cluster-cidr-discovery'] !== true,
    logLevel: logLevel as LogLevel,
  };
  return deepFreeze({ command: 'doctor', doctor });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses the command line (`argv` without the node binary and script, i.e. `process.argv.slice(2)`) and
 * the environment.
 * @throws ConfigError with a message naming the bad flag and what it accepts.
 */
export function parseConfig(argv: readonly string[], env: Env): Config {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return { command: 'help', text: MAIN_HELP };
    case 'controller':
      return parseController(rest, env);
    case 'doctor':
      return parseDoctor(rest, env);
    case 'agent':
      try {
        return deepFreeze({ command: 'agent', agent: parseAgentConfig(rest, env) });
      } catch (err) {
        if (err instanceof AgentHelpRequested) return { command: 'help', text: err.message };
        if (err instanceof AgentConfigError) throw new ConfigError(err.message, { cause: err });
        throw err;
      }
    default:
      throw new ConfigError(`unknown command "${command}"\n\n${MAIN_HELP}`);
  }
}
