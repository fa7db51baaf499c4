/**
 * @module
 * `helm lint` and `helm template` of charts/cloud-egress with each provider's example values, and what the
 * rendered objects must hold: the controller's flags parse with the controller's own parser and carry the
 * values, the security settings of both workloads, the identity annotations per cloud, the agent cleanup mode.
 */
import { describe, expect, test } from 'vitest';
import { parseEqualitySelector } from '../../src/config.ts';
import { selectorMatches } from '../../src/kube/label-selector.ts';
import { CHART_DIR, CI_VALUES, container, findOne, helm, type Manifest, renderChart } from './chart.ts';
import { chartAgentConfig, chartControllerConfig } from './workloads.ts';

const IN_CLUSTER_ENV = {
  POD_NAME: 'cloud-egress-controller-0',
  POD_NAMESPACE: 'cloud-egress',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
};
const NODE_ENV = { NODE_NAME: 'node-a', NODE_IP: '10.0.1.10', ...IN_CLUSTER_ENV };

/** The controller's settings exactly as the rendered Deployment starts it. */
const controllerConfig = (manifests: readonly Manifest[]) => chartControllerConfig(manifests, IN_CLUSTER_ENV);

describe.each(CI_VALUES)('values for provider $provider', ({ provider, file }) => {
  test('helm lint --strict passes', async () => {
    const result = await helm(['lint', '--strict', CHART_DIR, '--values', file]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  test('helm template renders a controller the controller accepts, with these values', async () => {
    const manifests = await renderChart({ valuesFiles: [file] });
    const config = controllerConfig(manifests);
    expect(config.settings.provider).toBe(provider);
    expect(config.kube).toEqual({ kind: 'in-cluster' });
    expect(config.settings.leaderElection).toMatchObject({
      enabled: true,
      namespace: 'cloud-egress',
      name: 'cloud-egress-controller',
    });
    // The controller is given the agents' typed cluster CIDRs (its cluster CIDRs check counts them).
    expect(config.settings.clusterCidrs ?? []).toEqual(chartAgentConfig(manifests, NODE_ENV).clusterCidrs);
    const sa = findOne(manifests, 'ServiceAccount', '-controller');
    const annotations = sa.metadata.annotations ?? {};
    const deployment = findOne(manifests, 'Deployment', '-controller');
    const podLabels = deployment.spec.template.metadata.labels;
    switch (provider) {
      case 'aws':
        expect(chartAgentConfig(manifests, NODE_ENV).clusterCidrs).toEqual(['10.0.0.0/16', '172.20.0.0/16']);
        expect(config.settings.clusterCidrs).toEqual(['10.0.0.0/16', '172.20.0.0/16']);
        expect(config.settings.providerSettings).toEqual({
          owner: 'prod-eks',
          region: 'eu-west-1',
          interfaceTag: 'cloudegress.io/egress=true',
        });
        expect(annotations).toEqual({
          'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/cloud-egress-controller',
        });
        expect(findOne(manifests, 'ServiceMonitor', '-controller').metadata.labels.release).toBe(
          'prometheus',
        );
        break;
      case 'gcp':
        expect(config.settings.providerSettings).toEqual({ owner: 'prod-gke', interface: 'nic0' });
        expect(config.settings.probe).toEqual({
          intervalMs: 250,
          misses: 4,
          dampingMs: 30_000,
          agentHealthPort: 9796,
          restartGraceMs: 60_000,
        });
        expect(annotations).toEqual({
          'iam.gke.io/gcp-service-account': 'cloud-egress@my-project.iam.gserviceaccount.com',
        });
        expect(
          deployment.spec.template.spec.affinity.podAntiAffinity
            .requiredDuringSchedulingIgnoredDuringExecution,
        ).toHaveLength(1);
        break;
      case 'azure':
        expect(annotations).toEqual({
          'azure.workload.identity/client-id': '00000000-1111-2222-3333-444444444444',
          'azure.workload.identity/tenant-id': '55555555-6666-7777-8888-999999999999',
        });
        expect(podLabels['azure.workload.identity/use']).toBe('true');
        expect(config.logLevel).toBe('debug');
        break;
      case 'none': {
        expect(config.settings.probe.intervalMs).toBe(100);
        expect(config.settings.probe.timeoutMs).toBe(1000);
        expect(config.settings.probe.agentHealthPort).toBe(19796);
        const agent = container(findOne(manifests, 'DaemonSet', '-agent'), 'agent');
        expect(agent.ports[0]).toMatchObject({ containerPort: 19796, hostPort: 19796 });
        expect(chartAgentConfig(manifests, NODE_ENV)).toMatchObject({
          healthPort: 19796,
          iface: 'bond0',
          clusterCidrs: ['10.42.0.0/16', '10.43.0.0/16'],
        });
        expect(manifests.filter((m) => m.kind === 'Service')).toEqual([]);
        break;
      }
      default:
        expect(annotations).toEqual({});
        expect(podLabels['azure.workload.identity/use']).toBeUndefined();
    }
  });
});

describe('default values', () => {
  test('the controller: 2 replicas, leader election, PDB, anti-affinity, probes, locked down', async () => {
    const manifests = await renderChart();
    const deployment = findOne(manifests, 'Deployment', '-controller');
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.replicas).toBe(2);
    const config = controllerConfig(manifests);
    expect(config.settings.leaderElection.enabled).toBe(true);
    expect(config.settings.probe).toEqual({
      intervalMs: 200,
      misses: 3,
      dampingMs: 10_000,
      agentHealthPort: 9796,
      restartGraceMs: 30_000,
    });
    // The controller watches exactly the agent DaemonSet's Pods, in the release namespace.
    const agentPods = findOne(manifests, 'DaemonSet', '-agent');
    const matchLabels = Object.fromEntries(
      parseEqualitySelector(config.settings.agentPods!.labelSelector, '--agent-pod-selector'),
    );
    expect(matchLabels['app.kubernetes.io/component']).toBe('agent');
    expect(selectorMatches({ matchLabels }, agentPods.spec.template.metadata.labels)).toBe(true);
    // ... and not the controller's own Pods.
    expect(selectorMatches({ matchLabels }, deployment.spec.template.metadata.labels)).toBe(false);
    expect(config.settings.agentPods!.namespace).toBe(agentPods.metadata.namespace);
    expect(config.metricsAddress).toBe(':8080');
    expect(config.healthAddress).toBe(':8081');
    expect(config.settings).not.toHaveProperty('clusterCidrs'); // agent.clusterCIDRs is empty

    const pdb = findOne(manifests, 'PodDisruptionBudget', '-controller');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const anti = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
    expect(anti.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(anti.podAffinityTerm.labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);

    const c = container(deployment, 'controller');
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(c.ports).toContainEqual({ name: 'health', containerPort: 8081, protocol: 'TCP' });
    expect(c.ports).toContainEqual({ name: 'metrics', containerPort: 8080, protocol: 'TCP' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.serviceAccountName).toBe('cloud-egress-controller');
  });

  test('the agent: hostNetwork, only NET_ADMIN and NET_RAW, every taint tolerated, node-critical, NODE_NAME', async () => {
    const manifests = await renderChart();
    const ds = findOne(manifests, 'DaemonSet', '-agent');
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe('cloud-egress-agent');
    const c = container(ds, 'agent');
    expect(c.command).toBeUndefined();
    const config = chartAgentConfig(manifests, NODE_ENV);
    expect(config).toMatchObject({
      cleanup: false,
      nodeName: 'node-a',
      nodeIp: '10.0.1.10',
      healthPort: 9796,
      announce: true,
      clusterCidrs: [],
      discoverClusterCidrs: true,
      iface: undefined,
      egressIface: undefined,
      healthHost: undefined,
      procSys: '/host/proc/sys',
    });
    expect(config.dataplane).toMatchObject({ vni: 4207, port: 4796 });
    // Kernel settings without privileges: the host's /proc/sys/net read-write where --proc-sys points.
    expect(pod.volumes).toContainEqual({
      name: 'host-proc-sys-net',
      hostPath: { path: '/proc/sys/net', type: 'Directory' },
    });
    expect(c.volumeMounts).toContainEqual({ name: 'host-proc-sys-net', mountPath: `${config.procSys}/net` });
    expect(c.securityContext).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
    });
    expect(c.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    expect(c.env).toContainEqual({
      name: 'NODE_IP',
      valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(c.ports).toEqual([{ name: 'health', containerPort: 9796, hostPort: 9796, protocol: 'TCP' }]);
  });

  test('RBAC: what the controller and the agent may do, and nothing more', async () => {
    const manifests = await renderChart();
    const rules = (kind: string, suffix: string) =>
      findOne(manifests, kind, suffix).rules.map((r: Record<string, unknown>) => ({
        ...r,
        verbs: [...(r['verbs'] as string[])].sort(),
      }));
    expect(rules('ClusterRole', '-controller')).toEqual([
      {
        apiGroups: ['cloudegress.io'],
        resources: ['egressgateways', 'egresspolicies', 'clusteregresspolicies'],
        verbs: ['list', 'patch', 'watch'],
      },
      {
        apiGroups: ['cloudegress.io'],
        resources: ['egressgateways/status', 'egresspolicies/status', 'clusteregresspolicies/status'],
        verbs: ['patch'],
      },
      {
        apiGroups: ['cloudegress.io'],
        resources: [
          'egressgateways/finalizers',
          'egresspolicies/finalizers',
          'clusteregresspolicies/finalizers',
        ],
        verbs: ['update'],
      },
      { apiGroups: [''], resources: ['nodes', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      // The Preflight condition's cluster checks (src/controller/cluster-facts.ts): the Service CIDRs.
      { apiGroups: ['networking.k8s.io'], resources: ['servicecidrs'], verbs: ['list'] },
    ]);
    const leaseRole = findOne(manifests, 'Role', '-leader-election');
    expect(leaseRole.metadata.namespace).toBe('cloud-egress');
    expect(rules('Role', '-leader-election')).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['cloud-egress-controller'],
        verbs: ['get', 'update'],
      },
    ]);
    expect(findOne(manifests, 'Role', '-agent-pods').metadata.namespace).toBe('cloud-egress');
    expect(rules('Role', '-agent-pods')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
    ]);
    // ... and whether the Amazon VPC CNI runs: its pods, in kube-system only, listed (never watched).
    expect(findOne(manifests, 'Role', '-vpc-cni-pods').metadata.namespace).toBe('kube-system');
    expect(rules('Role', '-vpc-cni-pods')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    const binding = findOne(manifests, 'RoleBinding', '-vpc-cni-pods');
    expect(binding.metadata.namespace).toBe('kube-system');
    expect(binding.subjects).toEqual([
      {
        kind: 'ServiceAccount',
        name: findOne(manifests, 'ServiceAccount', '-controller').metadata.name,
        namespace: 'cloud-egress',
      },
    ]);
    for (const rule of rules('ClusterRole', '-agent')) expect(rule.verbs).toEqual(['list', 'watch']);
    expect(rules('ClusterRole', '-agent')).toContainEqual({
      apiGroups: ['networking.k8s.io'],
      resources: ['servicecidrs'],
      verbs: ['list', 'watch'],
    });
  });

  test('CRDs ship in the chart (helm installs them before the templates)', async () => {
    const result = await helm(['show', 'crds', CHART_DIR]);
    const names = result.stdout
      .split('\n')
      .filter((l) => /^ {2}name: /.test(l))
      .map((l) => l.trim().slice('name: '.length))
      .sort();
    expect(names).toEqual([
      'clusteregresspolicies.cloudegress.io',
      'egressgateways.cloudegress.io',
      'egresspolicies.cloudegress.io',
    ]);
  });
});

test('agent.discoverClusterCIDRs=false: only agent.clusterCIDRs (and the node IPs) bypass the gateways', async () => {
  const manifests = await renderChart({
    set: { 'agent.discoverClusterCIDRs': 'false', 'agent.clusterCIDRs': '{10.42.0.0/16}' },
  });
  expect(chartAgentConfig(manifests, NODE_ENV)).toMatchObject({
    clusterCidrs: ['10.42.0.0/16'],
    discoverClusterCidrs: false,
  });
  expect(controllerConfig(manifests).settings.clusterCidrs).toEqual(['10.42.0.0/16']);
});

test('agent.egressInterface and agent.egressGateway: egress IPs on a dedicated device', async () => {
  const manifests = await renderChart({
    set: { 'agent.egressInterface': 'ens6', 'agent.egressGateway': '10.0.2.1' },
  });
  expect(chartAgentConfig(manifests, NODE_ENV)).toMatchObject({
    iface: undefined,
    egressIface: 'ens6',
    egressGateway: '10.0.2.1',
  });
});

test("agent.discoverClusterCIDRs: the controller's cluster CIDRs check knows whether the agents discover them", async () => {
  expect(controllerConfig(await renderChart({})).settings.agentClusterCidrDiscovery).toBe(true);
  const off = await renderChart({ set: { 'agent.discoverClusterCIDRs': 'false' } });
  expect(controllerConfig(off).settings.agentClusterCidrDiscovery).toBe(false);
});

test("agent.returnPath: tunnel by default, podNetwork when set, anything else refused; the controller's is the agents'", async () => {
  const defaults = await renderChart({});
  const byDefault = chartAgentConfig(defaults, NODE_ENV);
  expect(byDefault.dataplane.returnPath).toBe('tunnel');
  expect(controllerConfig(defaults).settings.agentReturnPath).toBe('tunnel');
  const podNetwork = await renderChart({ set: { 'agent.returnPath': 'podNetwork' } });
  expect(chartAgentConfig(podNetwork, NODE_ENV).dataplane.returnPath).toBe('podNetwork');
  expect(controllerConfig(podNetwork).settings.agentReturnPath).toBe('podNetwork');
  await expect(renderChart({ set: { 'agent.returnPath': 'vpc' } })).rejects.toThrow(/returnPath/);
});

describe('uninstall aid: agent.cleanup=true', () => {
  test('every node runs `cloud-egress agent --cleanup` once, then idles', async () => {
    const manifests = await renderChart({
      set: {
        'agent.cleanup': 'true',
        'agent.interface': 'bond0',
        'agent.vxlan.vni': '99',
        'agent.vxlan.port': '4800',
      },
    });
    const ds = findOne(manifests, 'DaemonSet', '-agent');
    const pod = ds.spec.template.spec;
    expect(pod.initContainers).toHaveLength(1);
    const cleanup = pod.initContainers[0];
    expect(cleanup.command).toBeUndefined();
    const config = chartAgentConfig(manifests, NODE_ENV, 'cleanup');
    expect(config.cleanup).toBe(true);
    expect(config.iface).toBe('bond0');
    expect(config.dataplane).toMatchObject({ vni: 99, port: 4800 });
    expect(cleanup.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['done']);
  });
});
