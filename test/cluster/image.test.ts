/**
 * @module
 * The image the real-node box runs is the one the Dockerfile builds (test/cluster/image.ts, buildah), and it
 * agrees with the Dockerfile and the chart: the same entry point and user as the Dockerfile says, every
 * tool the agent calls (the ones the process box finds on the host), an entry point that runs from the
 * image's own Node and node_modules, and a user the chart's controller securityContext matches.
 */
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { container, findOne, renderChart } from '../chart/chart.ts';
import { runCommand } from '../harness/command.ts';
import { AGENT_COMMANDS } from '../support/ensure-packages.ts';
import {
  type BuiltImage,
  ensureImage,
  IMAGE_TOOLS,
  type ImageConfig,
  REPO_ROOT,
  withImageRootfs,
} from './image.ts';
import { realNodeUnavailable } from './requirements.ts';

const unavailable = await realNodeUnavailable();
const title = (name: string) => `${name}${unavailable ? ` (skipped: ${unavailable})` : ''}`;

/** The Dockerfile's last stage: its ENTRYPOINT (JSON form) and USER. */
async function dockerfileFinalStage(): Promise<{ entrypoint: string[]; user: string }> {
  const text = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const last = text.slice(text.lastIndexOf('\nFROM '));
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(last)?.[1];
  const user = /^USER (\S+)$/m.exec(last)?.[1];
  if (!entrypoint || !user)
    throw new Error('the Dockerfile has no ENTRYPOINT [...] or USER in its last stage');
  return { entrypoint: JSON.parse(entrypoint) as string[], user };
}

describe.skipIf(unavailable !== undefined)(title('the image built from the Dockerfile'), () => {
  let image: BuiltImage;
  let config: ImageConfig;
  let rootfs = '';
  let release: () => void = () => {};
  let opened: Promise<void> | undefined;

  beforeAll(async () => {
    image = await ensureImage();
    // Keep the image's root file system mounted for every test below.
    await new Promise<void>((ready, failed) => {
      opened = withImageRootfs(image, async (c, r) => {
        config = c;
        rootfs = r;
        ready();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }).catch(failed);
    });
  }, 1_800_000);

  afterAll(async () => {
    release();
    await opened;
  });

  test('has the Dockerfile entry point and user', async () => {
    const dockerfile = await dockerfileFinalStage();
    expect(config.Entrypoint).toEqual(dockerfile.entrypoint);
    expect(config.User).toBe(dockerfile.user);
  });

  test('carries every tool the agent calls', async () => {
    // What the process box's agents find on the host (iperf3 is the benchmark's, not the agent's).
    const hostTools = AGENT_COMMANDS.map((c) => c.command).filter((c) => c !== 'iperf3');
    expect([...IMAGE_TOOLS].sort()).toEqual(expect.arrayContaining(hostTools.sort()));
    const path = (config.Env ?? [])
      .find((e) => e.startsWith('PATH='))!
      .slice(5)
      .split(':');
    const missing: string[] = [];
    for (const tool of IMAGE_TOOLS) {
      let found = false;
      for (const dir of path) {
        found ||= await access(join(rootfs, dir, tool), constants.X_OK).then(
          () => true,
          () => false,
        );
      }
      if (!found) missing.push(tool);
    }
    expect(missing).toEqual([]);
  });

  test.each(['controller', 'agent'])('`%s --help` runs from the image with its own Node', async (command) => {
    const [node, main] = config.Entrypoint!;
    const result = await runCommand(
      'chroot',
      [
        '--userspec=65532:65532',
        rootfs,
        '/usr/bin/env',
        '-i',
        'PATH=/usr/local/bin:/usr/bin:/bin',
        node!,
        main!,
        command,
        '--help',
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.stdout).toContain(`Usage: cloud-egress ${command}`);
  });

  test("the chart's controller runs as the image's user; the agent as root with NET_ADMIN and NET_RAW only", async () => {
    const manifests = await renderChart({ set: { 'cloud.provider': 'aws' } });
    const [uid, gid] = config.User!.split(':').map(Number);
    const deployment = findOne(manifests, 'Deployment', '-controller');
    const pod = deployment.spec.template.spec.securityContext;
    expect({ user: pod.runAsUser, group: pod.runAsGroup, nonRoot: pod.runAsNonRoot }).toEqual({
      user: uid,
      group: gid,
      nonRoot: true,
    });
    expect(container(deployment, 'controller').securityContext.capabilities).toEqual({ drop: ['ALL'] });
    const agent = container(findOne(manifests, 'DaemonSet', '-agent'), 'agent').securityContext;
    expect(agent.runAsUser).toBe(0);
    expect(agent.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('runs it as root with only NET_ADMIN and NET_RAW');
  });
});
