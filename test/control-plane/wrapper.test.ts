/**
 * @module
 * The wrapper module pins what versions.ts says: Kubernetes itself, every staging module Kubernetes maps to
 * a local folder replaced by its published release, and the etcd that Kubernetes release requires.
 */
import { tmpdir } from 'node:os';
import { describe, expect, test } from 'vitest';
import { runCommand } from '../harness/command.ts';
import { WRAPPER_DIR } from './binaries.ts';
import { ETCD_VERSION, KUBERNETES_VERSION } from './versions.ts';

interface GoModJson {
  Require?: { Path: string; Version: string }[];
  Replace?: { Old: { Path: string }; New: { Path: string; Version?: string } }[];
}

const goEnv = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' };

async function goModJson(file?: string): Promise<GoModJson> {
  const args = ['mod', 'edit', '-json', ...(file ? [file] : [])];
  return JSON.parse((await runCommand('go', args, { cwd: WRAPPER_DIR, env: goEnv })).stdout);
}

describe('wrapper module', () => {
  test(`requires k8s.io/kubernetes ${KUBERNETES_VERSION} and replaces each of its staging modules`, async () => {
    const wrapper = await goModJson();
    expect(wrapper.Require).toContainEqual(
      expect.objectContaining({ Path: 'k8s.io/kubernetes', Version: KUBERNETES_VERSION }),
    );

    const download = await runCommand(
      'go',
      ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`],
      {
        cwd: tmpdir(),
        env: goEnv,
      },
    );
    const kubernetes = await goModJson(JSON.parse(download.stdout).GoMod);
    const staging = (kubernetes.Replace ?? []).filter((r) => r.New.Path.startsWith('./staging/'));
    expect(staging.length).toBeGreaterThan(20);

    const published = `v0.${KUBERNETES_VERSION.slice('v1.'.length)}`;
    const replaced = new Map((wrapper.Replace ?? []).map((r) => [r.Old.Path, r.New]));
    for (const { Old } of staging) {
      expect(replaced.get(Old.Path), Old.Path).toEqual({ Path: Old.Path, Version: published });
    }
  });

  test(`builds the etcd Kubernetes requires (${ETCD_VERSION})`, async () => {
    const { stdout } = await runCommand('go', ['list', '-m', '-json', 'go.etcd.io/etcd/server/v3'], {
      cwd: WRAPPER_DIR,
      env: goEnv,
    });
    expect(JSON.parse(stdout).Version).toBe(ETCD_VERSION);
  });
});
