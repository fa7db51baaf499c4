/**
 * @module
 * One provider instance per (provider name, settings), made through an injectable factory (the registry by
 * default; tests pass one over a shared in-memory cloud), and a short-lived cache of `describeNode`, whose
 * answers (zone, subnets, capacity) change rarely; it is dropped for a node when a call about it fails. The cache
 * is kept per provider instance: a gateway whose settings change (another interface) is described afresh.
 */
import type {
  CloudProvider,
  NodeNetwork,
  NodeRef,
  ProviderContext,
  ProviderName,
  ProviderSettings,
} from '../provider/contract.ts';
import { isProviderError } from '../provider/contract.ts';
import { providerFactory } from '../provider/registry.ts';
import type { NodeNetworkResult } from './decide-plan.ts';

/** Makes a provider. */
export type ProviderMaker = (
  name: ProviderName,
  settings: ProviderSettings,
  context: ProviderContext,
) => CloudProvider | Promise<CloudProvider>;

/** The registry's factories. */
export const registryProviderMaker: ProviderMaker = async (name, settings, context) =>
  (await providerFactory(name))(settings, context);

/** See the module comment. */
export class ProviderPool {
  readonly #make: ProviderMaker;
  readonly #context: ProviderContext;
  readonly #wrap: (provider: CloudProvider) => CloudProvider;
  readonly #instances = new Map<string, Promise<CloudProvider>>();
  /** Descriptions by node name, then by provider instance and providerID. */
  readonly #networks = new Map<string, Map<string, { at: number; network: NodeNetwork }>>();
  /** The instance key of each provider made here (a provider made elsewhere is known by its name). */
  readonly #keys = new WeakMap<CloudProvider, string>();
  readonly #ttlMs: number;

  constructor(options: {
    make: ProviderMaker;
    /** Handed to every provider made (its logger, a child per provider; the cluster's answers). */
    context: ProviderContext;
    wrap?: (p: CloudProvider) => CloudProvider;
    describeTtlMs: number;
  }) {
    this.#make = options.make;
    this.#context = options.context;
    this.#wrap = options.wrap ?? ((p) => p);
    this.#ttlMs = options.describeTtlMs;
  }

  /** The provider for `name` with `settings` (created once). */
  get(name: ProviderName, settings: ProviderSettings): Promise<CloudProvider> {
    const key = `${name}/${JSON.stringify(settings)}`;
    let instance = this.#instances.get(key);
    if (!instance) {
      instance = Promise.resolve(
        this.#make(name, settings, {
          ...this.#context,
          logger: this.#context.logger.child({ provider: name }),
        }),
      ).then((p) => {
        const wrapped = this.#wrap(p);
        this.#keys.set(wrapped, key);
        return wrapped;
      });
      instance.catch(() => this.#instances.delete(key));
      this.#instances.set(key, instance);
    }
    return instance;
  }

  /** `describeNode`, answered from the cache when fresh. */
  async describe(provider: CloudProvider, node: NodeRef): Promise<NodeNetwork> {
    const key = `${this.#keys.get(provider) ?? provider.name} ${node.providerID}`;
    const hit = this.#networks.get(node.name)?.get(key);
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.network;
    try {
      const network = await provider.describeNode(node);
      const forNode = this.#networks.get(node.name) ?? new Map();
      forNode.set(key, { at: Date.now(), network });
      this.#networks.set(node.name, forNode);
      return network;
    } catch (err) {
      this.#networks.get(node.name)?.delete(key);
      throw err;
    }
  }

  /**
   * {@link describe} for each of `nodes` at once: each node's network, or why the cloud could not describe
   * it (the node then holds no IP). A retryable failure throws: the whole reconcile retries.
   */
  async describeAll(
    provider: CloudProvider,
    nodes: readonly NodeRef[],
  ): Promise<Map<string, NodeNetworkResult>> {
    const results = await Promise.all(
      nodes.map(async (ref): Promise<[string, NodeNetworkResult]> => {
        try {
          return [ref.name, { ok: true, network: await this.describe(provider, ref) }];
        } catch (err) {
          if (isProviderError(err) && err.retryable) throw err;
          return [ref.name, { ok: false, message: err instanceof Error ? err.message : String(err) }];
        }
      }),
    );
    return new Map(results);
  }

  /** Drops cached descriptions of `node` (after a capacity or not-found error). */
  invalidate(node: string): void {
    this.#networks.delete(node);
  }
}
