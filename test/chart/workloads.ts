/**
 * @module
 * The chart's workloads as their processes see them: the controller's and the agent's command lines from a
 * rendered manifest, with `$(VAR)` references expanded from the container's environment the way the kubelet
 * does, parsed by the CLI's own parser (`parseConfig`), as `cloud-egress <args>` in the image would.
 */
import type { AgentConfig } from '../../src/agent/agent-config.ts';
import { parseConfig } from '../../src/config.ts';
import type { ControllerConfig } from '../../src/controller/controller-settings.ts';
import { container, findOne, type Manifest } from './chart.ts';

/** Expands `$(NAME)` in `arg` from `env`, as the kubelet does for container args (unknown names stay). */
export function expandEnvRefs(arg: string, env: Readonly<Record<string, string>>): string {
  return arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

/** The controller's configuration exactly as the chart's Deployment starts it, in a pod with `env`. */
export function chartControllerConfig(
  manifests: readonly Manifest[],
  env: Readonly<Record<string, string>>,
): ControllerConfig {
  const c = container(findOne(manifests, 'Deployment', '-controller'), 'controller');
  const parsed = parseConfig(
    [...(c.args as string[])].map((a) => expandEnvRefs(a, env)),
    env,
  );
  if (parsed.command !== 'controller') throw new Error(`the controller container runs "${parsed.command}"`);
  return parsed.controller;
}

/**
 * The agent's configuration as the chart's DaemonSet starts it (the `agent` container, or the `cleanup`
 * init container in cleanup mode), on a node with `env` (NODE_NAME, NODE_IP...).
 */
export function chartAgentConfig(
  manifests: readonly Manifest[],
  env: Readonly<Record<string, string>>,
  which: 'agent' | 'cleanup' = 'agent',
): AgentConfig {
  const ds = findOne(manifests, 'DaemonSet', '-agent');
  const spec = ds.spec.template.spec;
  const c = which === 'agent' ? container(ds, 'agent') : spec.initContainers?.[0];
  if (!c) throw new Error(`the DaemonSet has no ${which} container`);
  if (c.command !== undefined) throw new Error(`the ${which} container overrides the image's entry point`);
  const parsed = parseConfig(
    [...(c.args as string[])].map((a) => expandEnvRefs(a, env)),
    env,
  );
  if (parsed.command !== 'agent') throw new Error(`the ${which} container runs "${parsed.command}"`);
  return parsed.agent;
}
