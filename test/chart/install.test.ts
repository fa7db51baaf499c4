/**
 * @module
 * The chart installed into a real kube-apiserver with the pinned helm, and both workloads run with the
 * credentials the chart gives them: a token of the chart's ServiceAccount (TokenRequest API), authorised by
 * nothing but the chart's RBAC. The controller runs with the exact flags of the chart's Deployment and the
 * in-memory cloud, and does its whole job (finalizers, status, events, lease, failover, release on delete);
 * the agent runs with the exact flags of the chart's DaemonSet in a network namespace and programs its node
 * from the API server. A rule missing from the chart's RBAC fails these tests; a rule too many fails the
 * `auth can-i` checks.
 */
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { type CommandLine, commandLine, commandRunner } from '../../src/agent/linux/run-command.ts';
import { runAgent } from '../../src/agent/run-agent.ts';
import { FINALIZER } from '../../src/api/annotations.ts';
import { runController } from '../../src/controller/run-controller.ts';
import { netnsSysctl, netnsSysctlRead } from '../agent/netns-lab.ts';
import { ControllerWorld, capturingLogger, hasFinalizer } from '../controller/world.ts';
import { SERVICE_CIDR } from '../harness/control-plane.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { createBoundPod } from '../support/bound-pods.ts';
import { patchCustomObject } from '../support/custom-objects.ts';
import { AGENT_COMMANDS } from '../support/ensure-packages.ts';
import { eventually } from '../support/eventually.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { createNode } from '../support/nodes.ts';
import { BAD_VALUES } from './bad-values.ts';
import { CHART_DIR, container, findOne, type Manifest, parseManifests } from './chart.ts';
import { chartAgentConfig, chartControllerConfig } from './workloads.ts';

// No CRDs from the harness: `helm install` installs them from the chart's crds/.
const kube = useControlPlane({ namespacePerTest: false, crds: false });
const RELEASE = 'cloud-egress';

let releaseNs = '';
let appNs = '';
let world: ControllerWorld;
let manifests: Manifest[] = [];

/** `promise`, or a rejection with `message()` after `ms`. */
async function within<T>(ms: number, message: () => string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lines that say the API server refused a call. */
const refusals = (lines: readonly string[]) => lines.filter((l) => /forbidden|\b403\b/i.test(l));

/** `kubectl auth can-i <verb> <resource> --as <sa>` (as the admin); true for "yes". */
async function canI(account: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  const [plural, subresource] = resource.split('/');
  const args = [
    'auth',
    'can-i',
    verb,
    plural!,
    ...(subresource ? [`--subresource=${subresource}`] : []),
    `--as=system:serviceaccount:${releaseNs}:${account}`,
  ];
  const result = await kube.controlPlane.kubectl(
    namespace ? [...args, '--namespace', namespace] : [...args, '--all-namespaces'],
    { check: false },
  );
  return result.stdout.trim() === 'yes';
}

beforeAll(async () => {
  const cp = kube.controlPlane;
  releaseNs = await cp.newNamespace('cloud-egress');
  appNs = await cp.newNamespace('shop', { team: 'shop' });
  world = new ControllerWorld(cp.kubeConfig, appNs);
  const agentPort = await world.agentPort();
  await cp.helm([
    'install',
    RELEASE,
    CHART_DIR,
    '--namespace',
    releaseNs,
    '--set',
    `agent.healthPort=${agentPort}`,
    '--set',
    'cloud.owner=chart-test',
    '--set',
    'agent.clusterCIDRs={10.244.0.0/16,10.96.0.0/12}',
  ]);
  manifests = parseManifests((await cp.helm(['get', 'manifest', RELEASE, '--namespace', releaseNs])).stdout);
});

afterAll(async () => {
  await world?.close();
});

describe('helm install', () => {
  it('puts the chart into the API server: CRDs, workloads, accounts, RBAC, PDB, metrics Services', async () => {
    const status = await kube.controlPlane.helm(['status', RELEASE, '--namespace', releaseNs, '-o', 'json']);
    expect(JSON.parse(status.stdout).info.status).toBe('deployed');
    const get = async (what: string) =>
      JSON.parse(
        (await kube.controlPlane.kubectl(['get', what, '--namespace', releaseNs, '-o', 'json'])).stdout,
      );
    const deployment = await get(`deployment/${RELEASE}-controller`);
    expect(deployment.spec.replicas).toBe(2);
    const ds = await get(`daemonset/${RELEASE}-agent`);
    expect(ds.spec.template.spec.hostNetwork).toBe(true);
    expect((await get(`poddisruptionbudget/${RELEASE}-controller`)).spec.maxUnavailable).toBe(1);
    for (const sa of ['controller', 'agent']) await get(`serviceaccount/${RELEASE}-${sa}`);
    for (const svc of ['controller', 'agent']) await get(`service/${RELEASE}-${svc}-metrics`);
    const roles = JSON.parse(
      (
        await kube.controlPlane.kubectl([
          'get',
          'clusterroles',
          '-l',
          `app.kubernetes.io/instance=${RELEASE}`,
          '-o',
          'json',
        ])
      ).stdout,
    );
    const crds = JSON.parse(
      (
        await kube.controlPlane.kubectl([
          'get',
          'crd',
          '-l',
          'app.kubernetes.io/part-of=cloud-egress',
          '-o',
          'json',
        ])
      ).stdout,
    );
    expect(kube.controlPlane.crds).toEqual([]);
    expect(crds.items.map((c: { metadata: { name: string } }) => c.metadata.name).sort()).toEqual([
      'clusteregresspolicies.cloudegress.io',
      'egressgateways.cloudegress.io',
      'egresspolicies.cloudegress.io',
    ]);
    expect(roles.items.map((r: { metadata: { name: string } }) => r.metadata.name).sort()).toEqual([
      `${RELEASE}-agent`,
      `${RELEASE}-controller`,
    ]);
  });

  it.each(BAD_VALUES.slice(0, 4))(
    'refuses $what with a clear message and installs nothing',
    async ({ set, message }) => {
      const args = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
      const result = await kube.controlPlane.helm(
        ['install', 'refused', CHART_DIR, '--namespace', releaseNs, ...args],
        { check: false },
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('INSTALLATION FAILED');
      for (const words of message) expect(result.stderr).toContain(words);
      const releases = await kube.controlPlane.helm(['list', '--namespace', releaseNs, '-q']);
      expect(releases.stdout.trim().split('\n')).toEqual([RELEASE]);
    },
  );
});

describe("the controller with the chart's ServiceAccount and flags", () => {
  it('places, reports, fails over and releases egress IPs, and holds the lease', async () => {
    const cp = kube.controlPlane;
    const account = findOne(manifests, 'Deployment', '-controller').spec.template.spec.serviceAccountName;
    const podName = `${RELEASE}-controller-7d9f8-abcde`;
    const config = chartControllerConfig(manifests, {
      POD_NAME: podName,
      POD_NAMESPACE: releaseNs,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
    });
    const identity = await cp.restrictedKubeConfig({ namespace: releaseNs, name: account });
    const log = capturingLogger('controller');

    for (const [i, name] of ['gw1', 'gw2', 'gw3'].entries()) {
      await world.addNode({
        name,
        zone: 'zone-a',
        subnet: '10.1.1.0/24',
        primaryIP: `10.1.1.${10 + i}`,
        agent: true,
      });
    }
    const gateway = await world.createGateway('gw', {
      ips: ['10.1.1.100-10.1.1.109'],
      namespaceSelector: { matchLabels: { team: 'shop' } },
    });
    // The chart runs without test providers; this test's cloud is the in-memory one, so it enables them.
    expect(config.settings.testProviders).toBe(false);
    let cluster: unknown;
    const running = await runController(
      {
        ...config,
        settings: { ...config.settings, testProviders: true },
        metricsAddress: '127.0.0.1:0',
        healthAddress: '127.0.0.1:0',
      },
      // A preflight check, so that the Preflight condition runs the cluster checks on what the controller reads
      // (the chart's RBAC must allow it); the provider is given those facts, which the test keeps.
      {
        kubeConfig: identity.kubeConfig,
        providerMaker: world.providerMaker((p) => ({
          ...p,
          preflight: async (_nodes, _signal, facts) => {
            cluster = facts;
            return [{ check: 'example', ok: true, message: 'fine' }];
          },
        })),
        logger: log.logger,
      },
    );
    try {
      await world.createPolicy('to-partner', {
        gatewayName: gateway,
        count: 2,
        podSelector: { matchLabels: { app: 'api' } },
        destinationCIDRs: ['203.0.113.0/24'],
      });

      // Finalizers and status (patch, patch on /status), as the API server stores them.
      const ready = await eventually('2 Ready IPs', async () => {
        const p = await world.getPolicy('to-partner');
        const a = p?.status?.assignments ?? [];
        return a.length === 2 && a.every((x) => x.state === 'Ready') ? p : undefined;
      });
      expect(ready?.metadata.finalizers).toContain(FINALIZER);
      expect(ready?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
      const assignments = ready?.status?.assignments ?? [];
      expect(Object.fromEntries(world.cloudPlacement())).toEqual(
        Object.fromEntries(assignments.map((a) => [a.ip, a.node])),
      );
      const gw = await eventually('gateway status', async () => {
        const g = await world.getGateway(gateway);
        return g.status?.ipsUsed === 2 ? g : undefined;
      });
      expect(hasFinalizer(gw)).toBe(true);
      expect(gw.status).toMatchObject({ provider: 'inmemory', readyNodes: 3, ipsTotal: 10 });
      // The Preflight condition read the ServiceCIDRs and kube-system's aws-node pods (else it would be Unknown);
      // this world's Nodes have no pod CIDRs, and the chart's agent.clusterCIDRs stand for them: it passes.
      const preflight = await eventually('the Preflight condition', async () =>
        (await world.getGateway(gateway)).status?.conditions?.find((c) => c.type === 'Preflight'),
      );
      expect(preflight).toMatchObject({
        status: 'True',
        reason: 'PreflightPassed',
        message: '2 checks passed',
      });
      expect(cluster).toEqual({
        podCIDRs: [],
        serviceCIDRs: [SERVICE_CIDR],
        typedCIDRs: ['10.244.0.0/16', '10.96.0.0/12'],
        vpcCni: false,
        agentReturnPath: 'tunnel',
      });

      // Events (create) in the policy's namespace.
      // One Assigned Event for the policy, however many nodes its IPs went to.
      const events = await eventually('the Assigned event', async () => {
        const e = await world.events('to-partner');
        return e.filter((x) => x.reason === 'Assigned').length === 1 ? e : undefined;
      });
      expect(events.every((e) => e.source?.component === 'cloud-egress-controller')).toBe(true);

      // The lease (create, get, update) in the release namespace, held by this pod.
      const coordination = cp.kubeConfig.makeApiClient(CoordinationV1Api);
      const lease = await coordination.readNamespacedLease({
        name: `${RELEASE}-controller`,
        namespace: releaseNs,
      });
      expect(lease.spec?.holderIdentity).toBe(podName);

      // Failover: the chart's probe settings find the dead agent, the IP moves, status follows.
      const victim = assignments[0]!;
      const agentIndex = ['gw1', 'gw2', 'gw3'].findIndex((n) => world.node(n) === victim.node);
      expect(agentIndex).toBeGreaterThanOrEqual(0);
      world.agents[agentIndex]!.up = false;
      await eventually('the IP moved off the failed node', async () => {
        const p = await world.getPolicy('to-partner');
        const moved = p?.status?.assignments?.find((a) => a.ip === victim.ip);
        return (
          moved?.state === 'Ready' &&
          moved.node !== victim.node &&
          world.cloudPlacement().get(victim.ip ?? '') === moved.node
        );
      });

      // Metrics on the chart's metrics endpoint.
      const metrics = await eventually('failover recorded in /metrics', async () => {
        const text = await (await fetch(`http://${running.metricsAddress}/metrics`)).text();
        return /cloud_egress_failover_duration_seconds_count 1\b/.test(text) ? text : undefined;
      });
      expect(metrics).toContain(`cloud_egress_ips{gateway="${gateway}",state="Ready"} 2`);

      // Deletion: IPs released in the cloud, then the finalizer removed (patch).
      await world.deletePolicy('to-partner');
      await eventually('policy gone', async () => (await world.getPolicy('to-partner')) === undefined);
      expect(world.cloudPlacement().size).toBe(0);
    } finally {
      await running.stop();
    }
    // Release on shutdown (update).
    const coordination = cp.kubeConfig.makeApiClient(CoordinationV1Api);
    const released = await coordination.readNamespacedLease({
      name: `${RELEASE}-controller`,
      namespace: releaseNs,
    });
    expect(released.spec?.holderIdentity ?? '').not.toBe(podName);
    expect(refusals(log.lines)).toEqual([]);
  });

  it('may do what its code calls and nothing else', async () => {
    const sa = `${RELEASE}-controller`;
    for (const [verb, resource] of [
      ['list', 'egressgateways.cloudegress.io'],
      ['watch', 'egresspolicies.cloudegress.io'],
      ['patch', 'clusteregresspolicies.cloudegress.io'],
      ['patch', 'egresspolicies.cloudegress.io/status'],
      ['update', 'egressgateways.cloudegress.io/finalizers'],
      ['list', 'nodes'],
      ['watch', 'namespaces'],
      ['create', 'events'],
    ]) {
      expect(await canI(sa, verb!, resource!), `${verb} ${resource}`).toBe(true);
    }
    expect(await canI(sa, 'create', 'leases.coordination.k8s.io', releaseNs)).toBe(true);
    // The agent Pods, in the release namespace only (a restart is told from a failure).
    expect(await canI(sa, 'watch', 'pods', releaseNs)).toBe(true);
    expect(await canI(sa, 'list', 'pods', appNs)).toBe(false);
    // The Preflight condition's cluster checks: the Service CIDRs, and the aws-node pods (listed, not watched).
    expect(await canI(sa, 'list', 'servicecidrs.networking.k8s.io')).toBe(true);
    expect(await canI(sa, 'list', 'pods', 'kube-system')).toBe(true);
    expect(await canI(sa, 'watch', 'pods', 'kube-system')).toBe(false);
    expect(await canI(sa, 'watch', 'servicecidrs.networking.k8s.io')).toBe(false);
    for (const [verb, resource] of [
      ['create', 'egresspolicies.cloudegress.io'],
      ['delete', 'egressgateways.cloudegress.io'],
      ['update', 'egresspolicies.cloudegress.io'],
      ['get', 'secrets'],
      ['list', 'pods'],
      ['patch', 'nodes'],
      ['delete', 'events'],
      ['create', 'leases.coordination.k8s.io'],
    ]) {
      expect(await canI(sa, verb!, resource!), `${verb} ${resource}`).toBe(false);
    }
    expect(await canI(sa, 'create', 'leases.coordination.k8s.io', appNs)).toBe(false);
  });
});

test('NOTES suggest destinations 0.0.0.0/0 only where the agents keep the cluster off the gateways', async () => {
  const notes = async (...set: string[]) => {
    const args = ['install', 'notes', CHART_DIR, '--namespace', releaseNs, '--dry-run'];
    const { stdout } = await kube.controlPlane.helm([...args, ...set.flatMap((s) => ['--set', s])]);
    return stdout.slice(stdout.indexOf('NOTES:'));
  };
  const everywhere = 'destinationCIDRs: ["0.0.0.0/0"]';
  const discovered = await notes();
  expect(discovered).toContain(everywhere);
  expect(discovered).toContain("every Node's\n  spec.podCIDRs and every ServiceCIDR object's CIDRs");
  expect(discovered).toContain('list those in agent.clusterCIDRs');
  const typed = await notes(
    'agent.discoverClusterCIDRs=false',
    'agent.clusterCIDRs={10.244.0.0/16,10.96.0.0/12}',
  );
  expect(typed).toContain(everywhere);
  expect(typed).toContain('agent.clusterCIDRs ["10.244.0.0/16","10.96.0.0/12"]');
  const neither = await notes('agent.discoverClusterCIDRs=false');
  expect(neither).not.toContain(everywhere);
  expect(neither).toContain('List the pod\n  and Service CIDRs in agent.clusterCIDRs first');
});

test('NOTES on AWS name the default that keeps egress IPs off the VPC CNI, and a tagged ENI without its device', async () => {
  const notes = async (...set: string[]) => {
    const args = ['install', 'notes', CHART_DIR, '--namespace', releaseNs, '--dry-run'];
    // `string:` sets a string (`--set` makes "0" a number, which the schema refuses).
    const flags = set.flatMap((s) =>
      s.startsWith('string:') ? ['--set-string', s.slice('string:'.length)] : ['--set', s],
    );
    const { stdout } = await kube.controlPlane.helm([...args, ...flags]);
    return stdout.slice(stdout.indexOf('NOTES:'));
  };
  const offManaged = 'no egress IP goes on an ENI it manages';
  const noDevice = 'cloud.interface.tag is set but agent.egressInterface is not';
  expect(await notes('cloud.provider=aws')).toContain(offManaged);
  expect(await notes('cloud.provider=aws', 'string:cloud.interface.index=0')).not.toContain(offManaged);
  expect(await notes('cloud.provider=gcp')).not.toContain(offManaged);
  const tagged = await notes('cloud.provider=aws', 'cloud.interface.tag=cloudegress.io/egress=true');
  expect(tagged).not.toContain(offManaged);
  expect(tagged).toContain(noDevice);
  expect(
    await notes(
      'cloud.provider=aws',
      'cloud.interface.tag=cloudegress.io/egress=true',
      'agent.egressInterface=ens6',
    ),
  ).not.toContain(noDevice);
});

const unavailable = await netnsUnavailable([...AGENT_COMMANDS, { command: 'setpriv', pkg: 'util-linux' }]);

describe("the agent with the chart's ServiceAccount and flags", () => {
  it('may only read: policies, nodes, namespaces, pods, ServiceCIDRs', async () => {
    const sa = `${RELEASE}-agent`;
    for (const resource of [
      'egresspolicies.cloudegress.io',
      'clusteregresspolicies.cloudegress.io',
      'nodes',
      'namespaces',
      'pods',
      'servicecidrs.networking.k8s.io',
    ]) {
      for (const verb of ['list', 'watch'])
        expect(await canI(sa, verb, resource), `${verb} ${resource}`).toBe(true);
    }
    for (const [verb, resource] of [
      ['update', 'egresspolicies.cloudegress.io'],
      ['patch', 'egresspolicies.cloudegress.io/status'],
      ['patch', 'egressgateways.cloudegress.io'],
      ['create', 'events'],
      ['get', 'secrets'],
      ['patch', 'nodes'],
      ['delete', 'pods'],
      ['create', 'servicecidrs.networking.k8s.io'],
    ]) {
      expect(await canI(sa, verb!, resource!), `${verb} ${resource}`).toBe(false);
    }
  });

  it.skipIf(unavailable !== undefined)(
    `programs its node from the API server with only the chart's capabilities, and --cleanup removes it all${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    async () => {
      const cp = kube.controlPlane;
      const host = commandRunner();
      const netns = `cechart${process.pid % 100000}`;
      // Every command of the agent runs with exactly the capabilities the chart's DaemonSet grants (and as
      // root, as there): setpriv drops the rest from the bounding and inheritable sets.
      const granted: string[] = container(findOne(manifests, 'DaemonSet', '-agent'), 'agent').securityContext
        .capabilities.add;
      const caps = `-all,${granted.map((c) => `+${c.toLowerCase()}`).join(',')}`;
      const inNetns = commandLine(netns);
      const line: CommandLine = (file, args) =>
        inNetns('setpriv', [`--bounding-set=${caps}`, `--inh-caps=${caps}`, '--', file, ...args]);
      const run = commandRunner(line);
      const nodeName = `${appNs}-agent-node`;
      const nodeIp = '192.168.251.1';
      const egressIp = '192.168.251.50';
      const core = cp.kubeConfig.makeApiClient(CoreV1Api);
      await host('ip', ['netns', 'add', netns]);
      try {
        await run('ip', ['link', 'set', 'lo', 'up']);
        await run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
        await run('ip', ['link', 'set', 'peer0', 'up']);
        await run('ip', ['addr', 'add', `${nodeIp}/24`, 'dev', 'eth0']);
        await run('ip', ['link', 'set', 'eth0', 'up']);

        await createNode(core, { name: nodeName, address: nodeIp });
        const pod = (name: string, onNode: string, ip: string) =>
          createBoundPod(core, { namespace: appNs, name, node: onNode, labels: { app: 'api' }, ip });
        await pod('api-local', nodeName, '10.244.7.5');
        await pod('api-elsewhere', world.node('gw1'), '10.244.8.5');
        await world.createPolicy('via-agent-node', {
          gatewayName: 'some-gateway',
          podSelector: { matchLabels: { app: 'api' } },
          destinationCIDRs: ['198.51.100.0/24'],
        });
        await patchCustomObject(
          world.custom,
          { kind: 'EgressPolicy', name: 'via-agent-node', namespace: appNs },
          { status: { assignments: [{ ip: egressIp, node: nodeName, state: 'Ready' }] } },
          'status',
        );

        const env = { NODE_NAME: nodeName, NODE_IP: nodeIp, POD_NAME: 'agent-x', POD_NAMESPACE: releaseNs };
        const config = chartAgentConfig(manifests, env);
        // The agent writes kernel settings under --proc-sys, where the chart mounts the host's /proc/sys/net
        // read-write (the runtime's /proc/sys is read-only); here the same files of the node's namespace.
        const ds = findOne(manifests, 'DaemonSet', '-agent');
        const volume = ds.spec.template.spec.volumes.find(
          (v: { hostPath?: { path: string } }) => v.hostPath?.path === '/proc/sys/net',
        );
        const mount = container(ds, 'agent').volumeMounts.find(
          (m: { name: string }) => m.name === volume?.name,
        );
        expect(mount).toMatchObject({ mountPath: `${config.procSys}/net` });
        expect(mount.readOnly ?? false).toBe(false);
        const identity = await cp.restrictedKubeConfig({ namespace: releaseNs, name: `${RELEASE}-agent` });
        const log = capturingLogger('agent');
        // The health endpoint on loopback (the test process is not inside the node's namespace).
        const agent = await within(
          30_000,
          () => `the agent did not start: ${(log.lines.at(-1) ?? '').slice(0, 600)}`,
          runAgent(
            { ...config, healthHost: '127.0.0.1', healthPort: 0 },
            {
              logger: log.logger,
              commandLine: line,
              kubeConfig: identity.kubeConfig,
              sysctl: netnsSysctl(run),
              sysctlRead: netnsSysctlRead(run),
            },
          ),
        );
        try {
          await within(20_000, () => `no sync: ${log.lines.slice(-5).join('\n')}`, agent.firstSync);
          const addresses = (await run('ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout;
          expect(addresses).toContain(`${egressIp}/32`);
          const table = (await run('nft', ['list', 'table', 'inet', config.dataplane.nftTable])).stdout;
          expect(table).toContain('10.244.7.5');
          expect(table).not.toContain('10.244.8.5');
          expect(table).toContain('10.244.0.0/16');
          const health = await fetch(`http://${agent.healthAddress}/healthz`);
          expect(health.status).toBe(200);
          // The chart's RBAC lets it watch ServiceCIDRs: the API server's own is in the cluster set.
          const metrics = await (await fetch(`http://${agent.healthAddress}/metrics`)).text();
          expect(metrics).toContain('cloud_egress_agent_servicecidr_api{state="served"} 1');
          expect(metrics).toContain('cloud_egress_agent_cluster_cidrs{source="servicecidr"} 1');
        } finally {
          await agent.stop();
        }
        expect(refusals(log.lines)).toEqual([]);
        // The gratuitous ARP for the new egress IP needs NET_RAW (failures would only be logged).
        expect(log.lines.filter((l) => l.includes('gratuitous ARP failed'))).toEqual([]);
        expect(log.lines.some((l) => l.includes('gratuitous ARP sent'))).toBe(true);

        // The uninstall aid: the cleanup container of the chart with agent.cleanup=true.
        const cleanupManifests = parseManifests(
          (
            await cp.helm([
              'template',
              RELEASE,
              CHART_DIR,
              '--namespace',
              releaseNs,
              '--set',
              'agent.cleanup=true',
            ])
          ).stdout,
        );
        const cleanupConfig = chartAgentConfig(cleanupManifests, env, 'cleanup');
        await runAgent(cleanupConfig, { logger: log.logger, commandLine: line });
        expect((await run('ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout).not.toContain(egressIp);
        const tables = (await run('nft', ['list', 'tables'])).stdout;
        expect(tables).not.toContain(config.dataplane.nftTable);
        expect((await run('ip', ['link', 'show'])).stdout).not.toContain(config.dataplane.tunnelName);
      } finally {
        await host('ip', ['netns', 'del', netns]).catch(() => {});
      }
    },
  );
});

describe('the documented uninstall (docs/upgrade-uninstall.md)', () => {
  it('switches the agents to cleanup, then removes everything but the CRDs', async () => {
    const cp = kube.controlPlane;
    await cp.helm([
      'upgrade',
      RELEASE,
      CHART_DIR,
      '--namespace',
      releaseNs,
      '--reuse-values',
      '--set',
      'agent.cleanup=true',
    ]);
    const ds = JSON.parse(
      (await cp.kubectl(['get', `daemonset/${RELEASE}-agent`, '--namespace', releaseNs, '-o', 'json']))
        .stdout,
    );
    const pod = ds.spec.template.spec;
    expect(pod.initContainers.map((c: { args: string[] }) => c.args.slice(0, 2))).toEqual([
      ['agent', '--cleanup'],
    ]);
    expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['done']);
    // --reuse-values kept the install's values.
    expect(pod.initContainers[0].args).toContain('--vxlan-port=4796');

    await cp.helm(['uninstall', RELEASE, '--namespace', releaseNs, '--wait']);
    const left = await cp.kubectl([
      'get',
      'deploy,ds,sa,role,rolebinding,svc,pdb',
      '--namespace',
      releaseNs,
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    expect(left.stdout.trim()).toBe('');
    const cluster = await cp.kubectl([
      'get',
      'clusterrole,clusterrolebinding',
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    expect(cluster.stdout.trim()).toBe('');
    const crds = await cp.kubectl([
      'get',
      'crd',
      '-l',
      'app.kubernetes.io/part-of=cloud-egress',
      '-o',
      'name',
    ]);
    expect(crds.stdout.trim().split('\n')).toHaveLength(3);
  });
});
