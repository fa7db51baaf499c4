/**
 * @module
 * `cloud-egress doctor`: checks the cluster's networks (src/controller/cluster-checks.ts: the pod and Service CIDRs
 * the agents discover, found with their code in src/kube/cluster-cidrs.ts, the CIDRs they are given (`--cluster-cidr`,
 * as the chart's agent.clusterCIDRs) and whether the Amazon VPC CNI runs; read by src/controller/cluster-facts.ts), lists the EgressGateways and their nodes from the API server, picks each
 * gateway's provider and settings as the controller does (decide-provider.ts), runs the provider's preflight checks
 * on the gateway's nodes with the cluster's facts (contract.ts `preflight`; providers without checks say so) and
 * prints every check with its fix (doctor-report.ts). The controller's `Preflight` condition runs the same checks
 * (src/controller/preflight-gate.ts). Provider-neutral: it reads only the contract.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { DoctorConfig } from '../config.ts';
import { clusterChecks } from '../controller/cluster-checks.ts';
import { readClusterFacts } from '../controller/cluster-facts.ts';
import { selectedNodes } from '../controller/decide-plan.ts';
import { decideProvider, decideSettings } from '../controller/decide-provider.ts';
import { nodeRefs } from '../controller/node-ref.ts';
import { type ProviderMaker, registryProviderMaker } from '../controller/provider-pool.ts';
import { createKubeApi } from '../kube/kube-api.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import type { Logger } from '../log.ts';
import { formatDoctorReport, type GatewayPreflight } from './doctor-report.ts';

/** What the doctor reads and writes; tests replace the provider maker and the output. */
export interface DoctorDeps {
  readonly logger: Logger;
  readonly make?: ProviderMaker;
  readonly write?: (text: string) => void;
}

/** Runs the doctor; resolves to the exit code (1 when a check failed). */
export async function runDoctor(config: DoctorConfig, deps: DoctorDeps): Promise<number> {
  const make = deps.make ?? registryProviderMaker;
  const write = deps.write ?? ((text: string) => process.stdout.write(text));
  const { lists } = createKubeApi(loadKubeConfig(config.kube));
  const [gatewayList, nodeList] = await Promise.all([lists.gateways(), lists.nodes()]);
  const nodes = nodeList.items as V1Node[];
  const cluster = await readClusterFacts(nodes, lists, {
    typedCIDRs: config.clusterCidrs ?? [],
    returnPath: config.agentReturnPath,
    discovery: config.agentClusterCidrDiscovery,
  });
  const gateways = (gatewayList.items as unknown as EgressGateway[])
    .filter((g) => config.gateway === undefined || g.metadata.name === config.gateway)
    .sort((x, y) => x.metadata.name.localeCompare(y.metadata.name));
  const results: GatewayPreflight[] = [];
  if (config.gateway !== undefined && gateways.length === 0) {
    results.push({
      gateway: config.gateway,
      problem: 'no such EgressGateway',
      fix: 'kubectl get egressgateways',
    });
  }
  for (const gateway of gateways) {
    const name = gateway.metadata.name;
    const members = selectedNodes(gateway, nodes);
    const choice = decideProvider(gateway, members, config.provider);
    if (!choice.ok) {
      results.push({ gateway: name, problem: `${choice.reason}: ${choice.message}` });
      continue;
    }
    try {
      const provider = await make(choice.name, decideSettings(gateway, config.providerSettings), {
        logger: deps.logger.child({ gateway: name }),
        cluster: { vpcCni: async () => cluster.vpcCni },
      });
      const refs = [...nodeRefs(members).values()];
      results.push({
        gateway: name,
        provider: provider.name,
        nodes: refs.length,
        checks: provider.preflight ? await provider.preflight(refs, undefined, cluster) : undefined,
      });
    } catch (err) {
      results.push({
        gateway: name,
        problem: `the preflight could not run: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  const report = formatDoctorReport(results, clusterChecks(cluster));
  write(report.text);
  return report.failed ? 1 : 0;
}
