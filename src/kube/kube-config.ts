/**
 * @module
 * The API server connection of both processes: a `KubeConfig` whose requests share keep-alive connections.
 *
 * client-node 2 builds a new undici `Agent` for every request (`applySecurityAuthentication`), so every
 * status write, finalizer update, Event and Lease renewal opened a fresh TCP and TLS connection: ~8 ms instead
 * of ~3 ms per call against a local API server, and more on a loaded node, which the controller pays several
 * times on the failover path. {@link PooledKubeConfig} keeps one dispatcher per set of TLS options and hands it
 * to every request; a changed CA, client certificate or server name (a rotated kubeconfig) gets a new one.
 *
 * ```
 * request ─► KubeConfig.applySecurityAuthentication (headers, a fresh dispatcher)
 *        ─► same TLS options as the pooled one? ── yes ─► use the pooled dispatcher, close the fresh one
 *                                               └─ no ──► the fresh one becomes the pooled one
 * ```
 */
import { createHash } from 'node:crypto';
import type { RequestOptions } from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** A `KubeConfig` whose API calls reuse connections; see the module comment. */
export class PooledKubeConfig extends KubeConfig {
  #pooled: { key: string; dispatcher: Dispatcher } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const key = await this.#tlsKey();
    if (this.#pooled?.key === key) {
      context.setDispatcher(this.#pooled.dispatcher);
      fresh.close().catch(() => undefined);
      return;
    }
    const previous = this.#pooled?.dispatcher;
    this.#pooled = { key, dispatcher: fresh };
    // Requests in flight on the old dispatcher finish; it closes once they have.
    previous?.close().catch(() => undefined);
  }

  /** Closes the pooled connections (tests, shutdown). */
  async close(): Promise<void> {
    const pooled = this.#pooled;
    this.#pooled = undefined;
    await pooled?.dispatcher.close();
  }

  /**
   * A digest of what the dispatcher's connections are made with. The TLS options are read again for it (client-node
   * does not hand them out): CA and client-certificate files are re-read, so a rotated file gets new connections;
   * an exec credential plugin is not re-run (client-node caches its token until it expires).
   */
  async #tlsKey(): Promise<string> {
    const opts: RequestOptions = {};
    await this.applyToHTTPSOptions(opts);
    const hash = createHash('sha256');
    hash.update(this.getCurrentCluster()?.server ?? '');
    for (const part of [opts.ca, opts.cert, opts.key, opts.pfx, opts.servername, opts.rejectUnauthorized]) {
      hash.update('\0');
      if (part !== undefined) hash.update(typeof part === 'object' ? JSON.stringify(part) : String(part));
    }
    return hash.digest('hex');
  }
}

/** Where a process finds the API server. */
export type KubeSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'default' };

/** A pooled KubeConfig from the configured source. */
export function loadKubeConfig(source: KubeSource): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (source.kind === 'file') kc.loadFromFile(source.path);
  else if (source.kind === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
