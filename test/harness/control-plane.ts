/**
 * @module
 * A real Kubernetes control plane for integration tests: etcd and kube-apiserver (built from the Go module
 * proxy, see test/control-plane/) started as child processes on free loopback ports, with RBAC, an admin
 * identity, ServiceAccount tokens for restricted identities, and the project's CRDs installed.
 *
 * ```
 * startControlPlane()
 *   ├─ ensure binaries (built once per machine, cached by version)
 *   ├─ etcd            127.0.0.1:<free>  --unsafe-no-fsync, watch progress notify every 5 s
 *   ├─ kube-apiserver  127.0.0.1:<free>  RBAC, static admin token, ServiceAccount issuer, self-signed TLS
 *   ├─ wait /readyz, write admin kubeconfig
 *   └─ install crds/*.yaml, wait Established
 * stop(): kube-apiserver, then etcd (SIGTERM, SIGKILL after a grace period), then remove the temp folder
 * ```
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  Health,
  KubeConfig,
  type V1CustomResourceDefinition,
  VersionApi,
} from '@kubernetes/client-node';
import { type ControlPlaneBinaries, ensureControlPlaneBinaries } from '../control-plane/binaries.ts';
import { KUBERNETES_VERSION } from '../control-plane/versions.ts';
import { eventually } from '../support/eventually.ts';
import { type CommandResult, runCommand } from './command.ts';
import { CRD_DIR, installCrds, readCrds } from './crds.ts';
import { freePorts, LOOPBACK } from './ports.ts';
import { ServerExitedError, whenExited } from './server-exited.ts';
import { ServerProcess } from './server-process.ts';

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /**
   * CRDs to install: a folder of YAML files, explicit objects, or false for none. Default: the repository's
   * `crds/` folder.
   */
  readonly crds?: string | readonly V1CustomResourceDefinition[] | false;
  /** Extra kube-apiserver flags (`--name=value`), appended last so they win. */
  readonly apiserverFlags?: readonly string[];
  /** Keep the temporary folder (logs, etcd data, kubeconfigs) after `stop()`. Default false. */
  readonly keepDir?: boolean;
  /** How long to wait for the API server to become ready. Default 90 s. */
  readonly readyTimeoutMs?: number;
  /**
   * Serve with this certificate (signed by `caFile`, valid for 127.0.0.1) instead of a self-signed one, and
   * accept client certificates signed by the same CA.
   */
  readonly pki?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  /**
   * For a cluster with kubelets (test/cluster/): ServiceAccount admission on, the Node authorizer and
   * NodeRestriction, and the `kubernetes` Service's endpoints kept (the advertised address comes from
   * `apiserverFlags`). Default false: a bare API server with nothing that needs nodes.
   */
  readonly realNodes?: boolean;
}

/** A ServiceAccount, the usual restricted identity. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** Options of a ServiceAccount token. */
export interface TokenOptions {
  /** Token lifetime; the API server's minimum is 600. Default 3600. */
  readonly expirationSeconds?: number;
  /** Audiences; default the API server's own. */
  readonly audiences?: readonly string[];
}

/** A non-admin identity with its own credentials. */
export interface Identity {
  /** The user name the API server sees, e.g. `system:serviceaccount:ns:name`. */
  readonly username: string;
  readonly token: string;
  readonly kubeConfig: KubeConfig;
  /** A kubeconfig file with these credentials, for kubectl, helm and child processes. */
  readonly kubeconfigPath: string;
}

/** Options of {@link ControlPlane.kubectl} and {@link ControlPlane.helm}. */
export interface ToolOptions {
  /** Written to the tool's standard input (e.g. `kubectl apply -f -`). */
  readonly input?: string;
  /** When false, a non-zero exit resolves instead of throwing. Default true. */
  readonly check?: boolean;
  /** Run as someone else: a kubeconfig file from {@link Identity}. Default the admin's. */
  readonly kubeconfigPath?: string;
  /** Killed after this long. Default 60 s. */
  readonly timeoutMs?: number;
}

/** One server process of the control plane, as the no-leftovers checks need it. */
export interface ServerInfo {
  readonly pid: number;
  /** The ports it listens on. */
  readonly ports: readonly number[];
  /** Its log file (inside the temporary folder). */
  readonly logPath: string;
}

const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** The Service CIDR; the `kubernetes` Service is its first address. */
export const SERVICE_CIDR = '10.96.0.0/24';
/** Where the ServiceAccount signing key lives inside {@link ControlPlane.dir} (kube-controller-manager needs it). */
export const SERVICE_ACCOUNT_KEY = join('pki', 'sa.key');
const ADMIN_USER = 'test-admin';

/** A running etcd + kube-apiserver pair. Create with {@link startControlPlane}. */
export class ControlPlane {
  /** The Kubernetes release the API server reports. */
  readonly version = KUBERNETES_VERSION;
  /** `https://127.0.0.1:<port>`. */
  readonly server: string;
  /** Admin (`system:masters`) client configuration. */
  readonly kubeConfig: KubeConfig;
  /** The admin kubeconfig as a file. */
  readonly kubeconfigPath: string;
  /** The temporary folder holding logs, etcd data, keys and kubeconfigs. */
  readonly dir: string;
  /** The binaries in use (kubectl and helm included). */
  readonly binaries: ControlPlaneBinaries;
  /** Names of the CRDs installed at start. */
  readonly crds: readonly string[];
  #etcd: ServerProcess;
  #etcdPorts: readonly number[];
  #apiserver: ServerProcess;
  #apiserverPort: number;
  #keepDir: boolean;
  #stopped: Promise<void> | undefined;
  #identities = 0;

  /** @internal Use {@link startControlPlane}. */
  constructor(fields: {
    dir: string;
    binaries: ControlPlaneBinaries;
    etcd: ServerProcess;
    etcdPorts: readonly number[];
    apiserver: ServerProcess;
    apiserverPort: number;
    kubeConfig: KubeConfig;
    kubeconfigPath: string;
    crds: readonly string[];
    keepDir: boolean;
  }) {
    this.dir = fields.dir;
    this.binaries = fields.binaries;
    this.#etcd = fields.etcd;
    this.#etcdPorts = fields.etcdPorts;
    this.#apiserver = fields.apiserver;
    this.#apiserverPort = fields.apiserverPort;
    this.server = `https://${LOOPBACK}:${fields.apiserverPort}`;
    this.kubeConfig = fields.kubeConfig;
    this.kubeconfigPath = fields.kubeconfigPath;
    this.crds = fields.crds;
    this.#keepDir = fields.keepDir;
  }

  /** The etcd and kube-apiserver processes (pids, ports, logs). */
  get processes(): { readonly etcd: ServerInfo; readonly apiserver: ServerInfo } {
    return {
      etcd: { pid: this.#etcd.pid, ports: this.#etcdPorts, logPath: this.#etcd.logPath },
      apiserver: { pid: this.#apiserver.pid, ports: [this.#apiserverPort], logPath: this.#apiserver.logPath },
    };
  }

  /** Runs the built kubectl against this control plane (admin unless `kubeconfigPath` says otherwise). */
  kubectl(args: readonly string[], options: ToolOptions = {}): Promise<CommandResult> {
    const kubeconfig = options.kubeconfigPath ?? this.kubeconfigPath;
    return runCommand(this.binaries.kubectl, ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, KUBECACHEDIR: join(this.dir, 'kube-cache') },
      input: options.input,
      check: options.check,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  }

  /** Runs the built helm against this control plane, with its caches inside {@link dir}. */
  helm(args: readonly string[], options: ToolOptions = {}): Promise<CommandResult> {
    const helmHome = (part: string) => join(this.dir, 'helm', part);
    return runCommand(this.binaries.helm, args, {
      env: {
        ...process.env,
        KUBECONFIG: options.kubeconfigPath ?? this.kubeconfigPath,
        HELM_CACHE_HOME: helmHome('cache'),
        HELM_CONFIG_HOME: helmHome('config'),
        HELM_DATA_HOME: helmHome('data'),
      },
      input: options.input,
      check: options.check,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  }

  /**
   * Creates a namespace with a generated name (`<prefix>-xxxxx`) and returns the name. Namespaces are not
   * deleted one by one (no namespace controller runs); they go with the control plane.
   */
  async newNamespace(prefix = 'test', labels: Record<string, string> = {}): Promise<string> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await core.createNamespace({ body: { metadata: { generateName: `${prefix}-`, labels } } });
    return ns.metadata!.name!;
  }

  /** Creates the ServiceAccount if it does not exist yet. */
  async ensureServiceAccount(account: ServiceAccountRef): Promise<void> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    try {
      await core.createNamespacedServiceAccount({
        namespace: account.namespace,
        body: { metadata: { name: account.name } },
      });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) throw error;
    }
  }

  /**
   * A bearer token for a ServiceAccount (created if missing) from the TokenRequest API. The account has no
   * permissions until RBAC grants them (a Role/ClusterRole binding, or the Helm chart's RBAC).
   */
  async tokenFor(account: ServiceAccountRef, options: TokenOptions = {}): Promise<string> {
    await this.ensureServiceAccount(account);
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const request = await core.createNamespacedServiceAccountToken({
      name: account.name,
      namespace: account.namespace,
      body: {
        spec: {
          expirationSeconds: options.expirationSeconds ?? 3600,
          ...(options.audiences ? { audiences: [...options.audiences] } : {}),
        },
      },
    });
    const token = request.status?.token;
    if (!token)
      throw new Error(`the TokenRequest for ${account.namespace}/${account.name} returned no token`);
    return token;
  }

  /** A kubeconfig (object and file) that authenticates with `token` as `username`. */
  async kubeConfigForToken(token: string, username: string): Promise<Identity> {
    const admin = this.kubeConfig.getCurrentCluster()!;
    const kubeConfig = kubeConfigWithToken(admin.server, admin.caData!, username, token);
    this.#identities += 1;
    const kubeconfigPath = join(this.dir, `identity-${this.#identities}.kubeconfig`);
    await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
    return { username, token, kubeConfig, kubeconfigPath };
  }

  /** The identity of a ServiceAccount (created if missing): token, KubeConfig and kubeconfig file. */
  async restrictedKubeConfig(account: ServiceAccountRef, options: TokenOptions = {}): Promise<Identity> {
    const token = await this.tokenFor(account, options);
    return this.kubeConfigForToken(token, `system:serviceaccount:${account.namespace}:${account.name}`);
  }

  /** The version the API server reports at `/version`. */
  async serverVersion(): Promise<string> {
    return (await this.kubeConfig.makeApiClient(VersionApi).getCode()).gitVersion;
  }

  /**
   * Stops kube-apiserver, then etcd, and removes the temporary folder. Waits until both processes are gone.
   * Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.#apiserver.stop();
      await this.#etcd.stop();
      if (!this.#keepDir) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.#stopped;
  }
}

/** Starts a server on fresh ports, starting over (up to 3 times) when another process took a port first. */
async function startOnFreePorts<T>(start: (ports: number[]) => Promise<T>, portCount: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(portCount);
    try {
      return await start(ports);
    } catch (error) {
      const portTaken = error instanceof ServerExitedError && /address already in use/.test(error.log);
      if (!portTaken || attempt >= 3) throw error;
    }
  }
}

async function startEtcd(binary: string, dir: string): Promise<{ process: ServerProcess; ports: number[] }> {
  return startOnFreePorts(async ([client, peer]) => {
    const clientUrl = `http://${LOOPBACK}:${client}`;
    const peerUrl = `http://${LOOPBACK}:${peer}`;
    const etcd = await ServerProcess.start(
      'etcd',
      binary,
      [
        '--name=test',
        `--data-dir=${join(dir, `etcd-${client}`)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        '--unsafe-no-fsync=true',
        '--watch-progress-notify-interval=5s',
        '--log-level=warn',
      ],
      { logPath: join(dir, 'etcd.log') },
    );
    try {
      await eventually(
        'etcd to be healthy',
        async () => {
          const response = await fetch(`${clientUrl}/health`);
          return response.ok && ((await response.json()) as { health?: string }).health === 'true';
        },
        { timeoutMs: 30_000, intervalMs: 100, giveUp: whenExited(etcd) },
      );
    } catch (error) {
      await etcd.stop();
      throw error;
    }
    return { process: etcd, ports: [client!, peer!] };
  }, 2);
}

/** A client configuration for `server` (trusting `caData`, base64 PEM) that sends a bearer token. */
function kubeConfigWithToken(server: string, caData: string, username: string, token: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'test', server, caData, skipTLSVerify: false }],
    users: [{ name: username, token }],
    contexts: [{ name: 'test', cluster: 'test', user: username }],
    currentContext: 'test',
  });
  return kubeConfig;
}

async function startApiserver(
  binary: string,
  dir: string,
  etcdUrl: string,
  options: ControlPlaneOptions,
): Promise<{ process: ServerProcess; port: number; kubeConfig: KubeConfig }> {
  const keys = join(dir, 'pki');
  await mkdir(keys, { recursive: true });
  const serviceAccountKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(
    join(keys, 'sa.key'),
    serviceAccountKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    {
      mode: 0o600,
    },
  );
  await writeFile(join(keys, 'sa.pub'), serviceAccountKeys.publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  await writeFile(join(keys, 'tokens.csv'), `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, {
    mode: 0o600,
  });

  return startOnFreePorts(async ([port]) => {
    const certDir = join(dir, `serving-${port}`);
    const pki = options.pki;
    const serving = pki
      ? [
          `--tls-cert-file=${pki.certFile}`,
          `--tls-private-key-file=${pki.keyFile}`,
          `--client-ca-file=${pki.caFile}`,
        ]
      : [`--cert-dir=${certDir}`];
    const nodes = options.realNodes
      ? [
          '--authorization-mode=Node,RBAC',
          '--enable-admission-plugins=NodeRestriction',
          '--endpoint-reconciler-type=lease',
        ]
      : [
          '--authorization-mode=RBAC',
          // No controller-manager runs: nothing would create the `default` ServiceAccount pods need.
          '--disable-admission-plugins=ServiceAccount',
          // The built-in `kubernetes` Service cannot point at a loopback address.
          '--endpoint-reconciler-type=none',
        ];
    const apiserver = await ServerProcess.start(
      'kube-apiserver',
      binary,
      [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${LOOPBACK}`,
        `--advertise-address=${LOOPBACK}`,
        `--secure-port=${port}`,
        ...serving,
        ...nodes,
        `--token-auth-file=${join(keys, 'tokens.csv')}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${join(keys, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(keys, 'sa.key')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--allow-privileged=true',
        '--profiling=false',
        ...(options.apiserverFlags ?? []),
      ],
      { logPath: join(dir, 'kube-apiserver.log') },
    );
    const certFile = pki?.caFile ?? join(certDir, 'apiserver.crt');
    let kubeConfig: KubeConfig | undefined;
    try {
      await eventually(
        'kube-apiserver /readyz',
        async () => {
          if (!kubeConfig) {
            if (!existsSync(certFile)) return false;
            const pem = await readFile(certFile, 'utf8');
            if (!pem.includes('END CERTIFICATE')) return false;
            const caData = Buffer.from(pem).toString('base64');
            kubeConfig = kubeConfigWithToken(`https://${LOOPBACK}:${port}`, caData, ADMIN_USER, adminToken);
          }
          return new Health(kubeConfig).readyz({});
        },
        { timeoutMs: options.readyTimeoutMs ?? 90_000, intervalMs: 100, giveUp: whenExited(apiserver) },
      );
    } catch (error) {
      await apiserver.stop();
      throw error;
    }
    return { process: apiserver, port: port!, kubeConfig: kubeConfig! };
  }, 1);
}

/**
 * Starts etcd and kube-apiserver on free loopback ports, writes the admin kubeconfig, installs the CRDs and
 * waits until they are Established. Builds the binaries first if this machine has none yet.
 * Always pair with {@link ControlPlane.stop} (e.g. in `afterAll`); if the test process ends without it, an
 * exit hook (and the kernel's parent-death signal) still kills both servers.
 *
 * @throws {ServerExitedError} when a server exits during start-up (its log is in the message).
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = await ensureControlPlaneBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'cloud-egress-kube-'));
  let etcd: ServerProcess | undefined;
  let apiserver: ServerProcess | undefined;
  try {
    const etcdStarted = await startEtcd(binaries.etcd, dir);
    etcd = etcdStarted.process;
    const api = await startApiserver(
      binaries.kubeApiserver,
      dir,
      `http://${LOOPBACK}:${etcdStarted.ports[0]}`,
      options,
    );
    apiserver = api.process;
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, api.kubeConfig.exportConfig(), { mode: 0o600 });

    const crdSource = options.crds ?? CRD_DIR;
    const crds =
      crdSource === false ? [] : typeof crdSource === 'string' ? await readCrds(crdSource) : crdSource;
    const crdNames = await installCrds(api.kubeConfig, crds);

    return new ControlPlane({
      dir,
      binaries,
      etcd,
      etcdPorts: etcdStarted.ports,
      apiserver,
      apiserverPort: api.port,
      kubeConfig: api.kubeConfig,
      kubeconfigPath,
      crds: crdNames,
      keepDir: options.keepDir ?? false,
    });
  } catch (error) {
    await apiserver?.stop();
    await etcd?.stop();
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
