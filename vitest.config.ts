import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 * - `unit`: fast tests beside the code (src/, providers/), no external processes.
 * - `integration`: test/ suites that start real parts (kube-apiserver, LocalStack, emulators,
 *   network namespaces). Each suite starts what it needs through the harnesses in test/.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'providers/**/*.test.ts', 'scripts/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'localstack/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          // Builds kube-apiserver/etcd/kubectl/helm once per machine (cached outside the checkout).
          globalSetup: ['test/control-plane/global-setup.ts'],
        },
      },
    ],
  },
});
