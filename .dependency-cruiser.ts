/**
 * @module
 * The architecture rules (docs: DESIGN.md, "Layout"), checked by dependency-cruiser in `npm test` and by
 * `npm run arch`. Each rule says why it exists; a violation prints the rule's name, the import that broke it
 * and that reason.
 *
 * ```
 *   cli ──► config.ts ──► controller ─┬─► kube ──► api ──► net
 *    │                    agent ──────┤      scheduler ──► api, net (+ the provider contract's types)
 *    └──► controller, agent           └─► provider ◄── providers/<x> (each alone)
 *                                          registry.ts ──► providers/*   (the one door into providers/)
 *   test/ ◄── bench/, scripts/demo.ts: only through test/<area>/index.ts
 * ```
 *
 * Parser: the project compiles with TypeScript 7 (the native compiler), whose npm package exposes no
 * JavaScript compiler API, so dependency-cruiser's `tsc` parser and `tsPreCompilationDeps` cannot run. The
 * `swc` parser (@swc/core, a devDependency) reads the TypeScript sources instead and keeps type-only
 * imports, so a type-only import breaks a rule like any other. Without @swc/core, dependency-cruiser would
 * skip every .ts file and report no violations, so this file refuses to load without it; and the `required`
 * rule at the end fails if the parser reads the files but stops seeing their imports.
 *
 * Tests: `*.test.ts` files are tests wherever they sit (beside the code, or in localstack/), so the rules
 * about test/ and providers/ exempt them; everything else in src/ and providers/ is production code.
 */
import type { IConfiguration } from 'dependency-cruiser';

try {
  await import('@swc/core');
} catch (err) {
  throw new Error(
    'architecture rules: @swc/core does not load, and without it dependency-cruiser reads no TypeScript ' +
      '(it would pass on an empty graph); run "npm ci"',
    { cause: err },
  );
}

const TEST_FILE = '\\.test\\.ts$';

const config: IConfiguration = {
  forbidden: [
    {
      name: 'agent-controller-peers',
      severity: 'error',
      comment:
        'src/agent and src/controller are peers: both stand on src/kube and never import each other, so ' +
        'either can change (or ship alone) without the other. Move what both need into src/kube.',
      from: { path: '^src/(agent|controller)/' },
      to: { path: '^src/(agent|controller)/', pathNot: '^src/$1/' },
    },
    {
      name: 'test-code-stays-in-tests',
      severity: 'error',
      comment:
        'Only tests (test/, and *.test.ts files anywhere), benchmarks (bench/) and the demo (scripts/demo.ts, ' +
        'which runs the cloud in a box) may import test/. Production code in src/ or providers/ never ' +
        'depends on test code; a builder both need belongs in src/.',
      from: { pathNot: [`^(test|bench)/`, '^scripts/demo\\.ts$', TEST_FILE] },
      to: { path: '^test/' },
    },
    {
      name: 'bench-and-demo-use-test-entries',
      severity: 'error',
      comment:
        'bench/ and scripts/demo.ts reach test/ only through the entry of a test area, test/<area>/index.ts ' +
        '(e.g. test/e2e/index.ts, the cloud in a box), so the suites can change their files freely. Export ' +
        'what is needed from that entry.',
      from: { path: ['^bench/', '^scripts/demo\\.ts$'] },
      to: { path: '^test/', pathNot: '^test/[^/]+/index\\.ts$' },
    },
    {
      name: 'providers-only-through-registry',
      severity: 'error',
      comment:
        'src/ never imports a provider: the registry (src/provider/registry.ts, and the per-provider ' +
        'descriptors it loads) is the one door, so the core asks capability flags instead of knowing clouds ' +
        'and a controller on one cloud never loads the SDKs of the others. Unit tests may put a concrete ' +
        'provider (the in-memory cloud) under the code they test.',
      from: { path: '^src/', pathNot: ['^src/provider/registry\\.ts$', TEST_FILE] },
      to: { path: '^providers/' },
    },
    {
      name: 'providers-are-independent',
      severity: 'error',
      comment:
        'A provider is a plugin: providers/<x> never imports providers/<y>, so each can be added, removed or ' +
        'changed alone. Shared code belongs in src/provider (the engine) or src/net.',
      from: { path: '^providers/([^/]+)/' },
      to: { path: '^providers/', pathNot: '^providers/$1/' },
    },
    {
      name: 'providers-see-only-the-contract',
      severity: 'error',
      comment:
        'Providers implement the contract (src/provider) over src/api and src/net; they never reach into the ' +
        'controller, the agent, the Kubernetes layer, the CLI or the configuration, which are handed to them ' +
        'as settings and a logger.',
      from: { path: '^providers/' },
      to: { path: ['^src/(controller|agent|kube|cli)/', '^src/config\\.ts$'] },
    },
    {
      name: 'kube-is-a-base-layer',
      severity: 'error',
      comment:
        'src/kube is what the controller and the agent share (informer, API calls, object helpers, ' +
        'selectors, backoff, HTTP server). It knows Kubernetes and the CRDs (src/api), nothing above it.',
      from: { path: '^src/kube/' },
      to: { path: ['^src/(controller|agent|provider|scheduler|cli)/', '^src/config\\.ts$', '^providers/'] },
    },
    {
      name: 'config-flows-down',
      severity: 'error',
      comment:
        'The command line and environment are parsed once (src/config.ts, called by src/cli) and the result ' +
        'is handed down. No layer below imports config.ts or the CLI back; types config.ts fills live with ' +
        'their users (e.g. controller/controller-settings.ts, kube/kube-config.ts).',
      from: { path: '^src/(controller|agent|kube|provider|scheduler|api|net)/' },
      to: { path: ['^src/config\\.ts$', '^src/cli/'] },
    },
    {
      name: 'net-is-the-bottom',
      severity: 'error',
      comment: 'src/net is pure address arithmetic that every layer uses; it imports no other part of src/.',
      from: { path: '^src/net/' },
      to: { path: '^src/', pathNot: '^src/net/' },
    },
    {
      name: 'api-is-a-leaf',
      severity: 'error',
      comment:
        'src/api (CRD types and schemas, the single source of truth) imports no other layer but src/net ' +
        '(IP and CIDR checks of the schemas), so every layer can use it without a cycle.',
      from: { path: '^src/api/' },
      to: { path: '^src/', pathNot: '^src/(api|net)/' },
    },
    {
      name: 'scheduler-is-pure',
      severity: 'error',
      comment:
        'src/scheduler is a pure function of gateways, nodes, policies and assignments: it imports src/api ' +
        'and src/net only, and the provider contract for the types its plan is written in (type-only).',
      from: { path: '^src/scheduler/' },
      to: { path: '^src/', pathNot: ['^src/(scheduler|api|net)/', '^src/provider/contract\\.ts$'] },
    },
    {
      name: 'scheduler-uses-contract-types-only',
      severity: 'error',
      comment: 'The scheduler plans in the contract vocabulary but runs nothing of it: type-only imports.',
      from: { path: '^src/scheduler/' },
      to: { path: '^src/provider/contract\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'No import cycles in src/ or providers/ (type-only imports included): a cycle makes two modules one ' +
        'unit that cannot be understood, tested or loaded alone, and hides which layer depends on which.',
      from: { path: '^(src|providers)/' },
      to: { circular: true },
    },
  ],
  required: [
    {
      name: 'parser-sees-typescript-imports',
      severity: 'error',
      comment:
        'A guard on this check itself: src/cli/main.ts imports src/config.ts. If the parser read the .ts ' +
        'files but stopped seeing their imports (after an upgrade of dependency-cruiser or swc), every rule ' +
        'above would pass on an empty graph; this one fails instead.',
      module: { path: '^src/cli/main\\.ts$' },
      to: { path: '^src/config\\.ts$' },
    },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules/' },
  },
};

export default config;
