/**
 * @module
 * Runs the controller process: API server connection, logger, the {@link Controller}, and the HTTP
 * endpoints. The CLI calls it and wires SIGTERM/SIGINT to {@link RunningController.stop}.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { type HttpEndpoint, serveHttp } from '../kube/http-server.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { createLogger, type Logger } from '../log.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import type { ControllerConfig } from './controller-settings.ts';
import { ControllerMetrics } from './metrics.ts';

/** A running controller process. */
export interface RunningController {
  readonly controller: Controller;
  /** Bound addresses of the endpoints. */
  readonly metricsAddress: string;
  readonly healthAddress: string;
  /** Graceful shutdown: stop the queue, release the lease, close the endpoints. */
  stop(): Promise<void>;
}

/** Starts the controller; resolves once the endpoints listen and the caches are synced. */
export async function runController(
  config: ControllerConfig,
  extra: Pick<ControllerOptions, 'providerMaker' | 'probe' | 'onFailover'> & {
    kubeConfig?: KubeConfig;
    logger?: Logger;
  } = {},
): Promise<RunningController> {
  const logger = extra.logger ?? createLogger({ level: config.logLevel, name: 'cloud-egress-controller' });
  const metrics = new ControllerMetrics({ processMetrics: true });
  const controller = new Controller({
    kubeConfig: extra.kubeConfig ?? loadKubeConfig(config.kube),
    settings: config.settings,
    identity: config.identity,
    metrics,
    logger,
    ...(extra.providerMaker ? { providerMaker: extra.providerMaker } : {}),
    ...(extra.probe ? { probe: extra.probe } : {}),
    ...(extra.onFailover ? { onFailover: extra.onFailover } : {}),
  });
  const routes = {
    '/metrics': async () => ({
      status: 200,
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
    '/healthz': async () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' }),
    '/readyz': async () =>
      controller.ready
        ? { status: 200, contentType: 'text/plain', body: 'ok\n' }
        : { status: 503, contentType: 'text/plain', body: 'caches not synced\n' },
  };
  const endpoints: HttpEndpoint[] = [];
  const metricsEndpoint = await serveHttp(
    config.metricsAddress,
    config.metricsAddress === config.healthAddress ? routes : { '/metrics': routes['/metrics'] },
  );
  endpoints.push(metricsEndpoint);
  let healthEndpoint = metricsEndpoint;
  if (config.healthAddress !== config.metricsAddress) {
    healthEndpoint = await serveHttp(config.healthAddress, {
      '/healthz': routes['/healthz'],
      '/readyz': routes['/readyz'],
    });
    endpoints.push(healthEndpoint);
  }
  logger.info({ metrics: metricsEndpoint.address, health: healthEndpoint.address }, 'endpoints listening');
  await controller.start();
  return {
    controller,
    metricsAddress: metricsEndpoint.address,
    healthAddress: healthEndpoint.address,
    async stop() {
      logger.info('shutting down');
      await controller.stop();
      await Promise.all(endpoints.map((e) => e.close()));
    },
  };
}
