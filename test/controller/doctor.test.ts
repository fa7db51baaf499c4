/**
 * @module
 * `cloud-egress doctor` against a real kube-apiserver: it lists the gateways and their Nodes, runs each
 * gateway's provider preflight (the Azure provider on the ARM emulator, AKS-shaped: scale-set nodes; the GCP
 * provider on the Compute Engine emulator) and prints every check with its fix; the exit code says whether one
 * failed. And the CLI itself, as a process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor.ts';
import { silentLogger } from '../../src/log.ts';
import { type ScaleSetWorld, startScaleSetWorld } from '../azure/scale-set-world.ts';
import type { WorldNode } from '../conformance/cloud-provider.case.ts';
import { type GcpWorld, PROJECT, startGcpWorld } from '../gcp/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { createCustomObject } from '../support/custom-objects.ts';
import { egressGateway } from '../support/egress-gateways.ts';
import { createNode } from '../support/nodes.ts';

const kube = useControlPlane({ namespacePerTest: false });
let azure: ScaleSetWorld;
let gcp: GcpWorld;

beforeAll(async () => {
  azure = await startScaleSetWorld();
  gcp = await startGcpWorld();
  const core = kube.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
  const custom = kube.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
  let podCIDRs = 0;
  /** A gateway `name` over `nodes`, labelled `pool: <name>`, each node with a pod CIDR. */
  const gateway = async (name: string, nodes: readonly WorldNode[], ips: string) => {
    for (const n of nodes) {
      await createNode(core, {
        name: n.ref.name,
        providerID: n.ref.providerID,
        labels: { pool: name },
        podCIDR: `10.244.${podCIDRs++}.0/24`,
      });
    }
    await createCustomObject(
      custom,
      egressGateway({ name, spec: { nodeSelector: { matchLabels: { pool: name } }, ips: [ips] } }),
    );
  };
  await gateway('doctor-azure', [azure.nodes.a, azure.nodes.b], '10.2.8.0/28');
  await gateway('doctor-gcp', [gcp.nodes.a, gcp.nodes.b], '10.1.1.0/28');
  await createCustomObject(
    custom,
    egressGateway({
      name: 'doctor-none',
      annotations: { 'cloudegress.io/provider': 'none' },
      spec: { nodeSelector: { matchLabels: { pool: 'nobody' } }, ips: ['10.9.0.0/28'] },
    }),
  );
});
afterAll(async () => {
  await azure?.close();
  await gcp?.close();
});

const doctor = async (gateway: string) => {
  let text = '';
  const code = await runDoctor(
    {
      kube: { kind: 'file', path: kube.controlPlane.kubeconfigPath },
      provider: 'auto',
      providerSettings: { owner: 'conformance' },
      gateway,
      agentReturnPath: 'tunnel',
      agentClusterCidrDiscovery: true,
      logLevel: 'warn',
    },
    {
      logger: silentLogger(),
      make: async (name) => (name === 'gcp' ? gcp.provider : azure.provider),
      write: (t) => {
        text += t;
      },
    },
  );
  return { code, text };
};

it('prints each failed check with its fix and exits 1; once fixed, exits 0', async () => {
  const { cloud } = azure.emulator;
  cloud.setIpForwarding(azure.nodes.b.nicId, false);
  cloud.grants.splice(0, cloud.grants.length, { scope: '/', actions: ['*/read'], notActions: [] });
  const broken = await doctor('doctor-azure');
  expect(broken.code).toBe(1);
  expect(broken.text).toContain('gateway doctor-azure (provider azure, 2 nodes)');
  expect(broken.text).toMatch(/FAIL +aks-nodepool1-vmss000001 +IP forwarding: off/);
  expect(broken.text).toMatch(
    /FAIL +permission Microsoft\.Network\/routeTables\/write: the controller's identity lacks/,
  );
  expect(broken.text).toContain("fix: turn on enableIPForwarding in the scale set's network profile");
  expect(broken.text).toMatch(/\n2 check\(s\) failed\n$/);

  cloud.setIpForwarding(azure.nodes.b.nicId, true);
  cloud.grants.splice(0, cloud.grants.length, { scope: '/', actions: ['*'], notActions: [] });
  const fixed = await doctor('doctor-azure');
  expect(fixed.code).toBe(0);
  expect(fixed.text).not.toContain('FAIL');
  expect(fixed.text).toMatch(/every check passed\n$/);
});

it("runs the GCP provider's checks the same way (testIamPermissions on the instances and subnetworks)", async () => {
  gcp.emulator.iam.deny(
    'compute.instances.updateNetworkInterface',
    `projects/${PROJECT}/zones/europe-west1-c/instances/node-b`,
  );
  const broken = await doctor('doctor-gcp');
  expect(broken.code).toBe(1);
  expect(broken.text).toContain('gateway doctor-gcp (provider gcp, 2 nodes)');
  expect(broken.text).toMatch(/FAIL +node-b +permission compute\.instances\.updateNetworkInterface/);
  expect(broken.text).toMatch(/\n1 check\(s\) failed\n$/);
  gcp.emulator.iam.allowAll();
  const fixed = await doctor('doctor-gcp');
  expect(fixed.code).toBe(0);
  expect(fixed.text).toMatch(/every check passed\n$/);
});

it('as a process: a provider without checks says so and exits 0; a gateway that does not exist exits 1', async () => {
  const run = async (...args: string[]) => {
    const child = spawn(process.execPath, [
      'src/cli/main.ts',
      'doctor',
      '--kubeconfig',
      kube.controlPlane.kubeconfigPath,
      ...args,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const [code] = (await once(child, 'exit')) as [number];
    return { code, out };
  };
  const none = await run('--gateway', 'doctor-none');
  expect(none).toMatchObject({ code: 0 });
  expect(none.out).toContain('provider none has no preflight checks');
  const missing = await run('--gateway', 'no-such-gateway');
  expect(missing.code).toBe(1);
  expect(missing.out).toContain('FAIL  no such EgressGateway');
});
