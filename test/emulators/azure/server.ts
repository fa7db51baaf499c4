/**
 * @module
 * The Azure emulator's HTTPS front: ARM's URL layout for exactly the calls cloud-egress makes, over TLS
 * with a certificate made at start, on 127.0.0.1 and a free port. Rules and state live in cloud.ts.
 *
 * | method | path (case-insensitive, `?api-version=` required)                                           |
 * |--------|-----------------------------------------------------------------------------------------------|
 * | GET    | /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}       |
 * | GET    | .../Microsoft.Compute/virtualMachineScaleSets/{ss}/virtualMachines/{instance}                 |
 * | GET    | .../Microsoft.Network/networkInterfaces/{nic}                                                 |
 * | PUT    | .../Microsoft.Network/networkInterfaces/{nic}   (`If-Match`; answers with Azure-AsyncOperation)|
 * | GET    | .../Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}                                 |
 * | POST   | .../Microsoft.Network/virtualNetworks/{vnet}/moveIpConfigurations (202, Azure-AsyncOperation)  |
 * | GET    | .../Microsoft.Network/virtualNetworks/{vnet}                                                  |
 * | GET    | .../Microsoft.Network/routeTables/{table}                                                     |
 * | PUT    | .../Microsoft.Network/routeTables/{table}   (`If-Match`; answers with Azure-AsyncOperation)    |
 * | GET    | .../Microsoft.Compute/virtualMachineScaleSets/{ss}/virtualMachines/{i}/networkInterfaces/{nic} |
 * |        | (the Network RP's read-only view of a scale-set instance's NIC)                                |
 * | GET    | /subscriptions/{s}/providers/Microsoft.Network/locations/{loc}/operations/{id}                |
 * | GET    | {any resource}/providers/Microsoft.Authorization/permissions (the caller's permissions there)  |
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ArmError, badRequest } from './arm-errors.ts';
import { makeLocalCertificate } from './certificate.ts';
import { AzureCloud } from './cloud.ts';

/** A running emulator. */
export interface AzureEmulator {
  /** `https://127.0.0.1:<port>`: the SDK's `endpoint`. */
  readonly url: string;
  /** PEM of the server's self-signed certificate, to trust in the client. */
  readonly ca: string;
  /** The emulated subscription: seed, inspect, inject faults. */
  readonly cloud: AzureCloud;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

const RESOURCE =
  /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/(microsoft\.compute\/virtualmachines\/[^/]+|microsoft\.compute\/virtualmachinescalesets\/[^/]+\/virtualmachines\/[^/]+\/networkinterfaces\/[^/]+|microsoft\.compute\/virtualmachinescalesets\/[^/]+\/virtualmachines\/[^/]+|microsoft\.network\/networkinterfaces\/[^/]+|microsoft\.network\/virtualnetworks\/[^/]+\/subnets\/[^/]+|microsoft\.network\/virtualnetworks\/[^/]+|microsoft\.network\/routetables\/[^/]+)$/;
const MOVE =
  /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/virtualnetworks\/[^/]+)\/moveipconfigurations$/;
const OPERATION =
  /^\/subscriptions\/[^/]+\/providers\/microsoft\.network\/locations\/[^/]+\/operations\/([^/]+)$/;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('The request content was invalid and could not be deserialized.');
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-ms-request-id': crypto.randomUUID(),
    ...headers,
  });
  res.end(text);
}

/** Starts an emulator over a fresh {@link AzureCloud} (or the given one). */
export async function startAzureEmulator(cloud = new AzureCloud()): Promise<AzureEmulator> {
  const { cert, key } = await makeLocalCertificate();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const arrivedAt = performance.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    try {
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        throw new ArmError(
          401,
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing.",
        );
      }
      if (!url.searchParams.get('api-version')) {
        throw new ArmError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
      }
      const path = decodeURIComponent(url.pathname).replace(/\/+/g, '/').replace(/\/+$/, '');
      const lower = path.toLowerCase();
      if (method === 'GET' && lower.endsWith('/providers/microsoft.authorization/permissions')) {
        send(
          res,
          200,
          cloud.permissionsFor(path.slice(0, -'/providers/Microsoft.Authorization/permissions'.length)),
        );
        return 200;
      }
      const op = OPERATION.exec(lower);
      if (op && method === 'GET') {
        const id = path.split('/').at(-1)!;
        const body = cloud.pollOperation(id);
        send(res, 200, body, cloud.pollHeaders(id));
        return 200;
      }
      const move = MOVE.exec(lower);
      if (move && method === 'POST') {
        const body = await readBody(req);
        cloud.takeFault('POST');
        const { operationUrl } = cloud.moveIpConfigurations(path.slice(0, move[1]!.length), body, arrivedAt);
        send(res, 202, null, { 'Azure-AsyncOperation': operationUrl, ...cloud.pollHeaders() });
        return 202;
      }
      const resource = RESOURCE.exec(lower);
      if (!resource) throw new ArmError(404, 'NotFound', `The emulator does not serve ${method} ${path}.`);
      const kind = resource[1]!;
      if (kind.startsWith('microsoft.network/networkinterfaces/')) {
        if (method === 'GET') {
          cloud.takeFault('GET');
          send(res, 200, cloud.getNic(path));
          return 200;
        }
        if (method === 'PUT') {
          const body = await readBody(req);
          cloud.takeFault('PUT');
          const ifMatch = req.headers['if-match'];
          const { nic, operationUrl } = cloud.putNic(
            path,
            body,
            Array.isArray(ifMatch) ? ifMatch[0] : ifMatch,
            arrivedAt,
          );
          send(res, 200, nic, { 'Azure-AsyncOperation': operationUrl, ...cloud.pollHeaders() });
          return 200;
        }
      } else if (kind.startsWith('microsoft.network/routetables/')) {
        if (method === 'GET') {
          cloud.takeFault('GET');
          send(res, 200, cloud.getRouteTable(path));
          return 200;
        }
        if (method === 'PUT') {
          const body = await readBody(req);
          cloud.takeFault('PUT');
          const ifMatch = req.headers['if-match'];
          const { table, operationUrl } = cloud.putRouteTable(
            path,
            body,
            Array.isArray(ifMatch) ? ifMatch[0] : ifMatch,
            arrivedAt,
          );
          send(res, 200, table, { 'Azure-AsyncOperation': operationUrl, ...cloud.pollHeaders() });
          return 200;
        }
      } else if (method === 'GET' && kind.includes('/networkinterfaces/')) {
        send(res, 200, cloud.getNic(path));
        return 200;
      } else if (method === 'GET' && kind.includes('/subnets/')) {
        send(res, 200, cloud.getSubnet(path));
        return 200;
      } else if (method === 'GET' && kind.startsWith('microsoft.network/virtualnetworks/')) {
        send(res, 200, cloud.getVnet(path));
        return 200;
      } else if (method === 'GET') {
        send(res, 200, cloud.getVm(path));
        return 200;
      }
      throw new ArmError(405, 'MethodNotAllowed', `The emulator does not serve ${method} ${path}.`);
    } catch (err) {
      if (!(err instanceof ArmError)) throw err;
      send(res, err.status, err.body(), { ...err.headers });
      return err.status;
    }
  };

  const server = createServer({ cert, key }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    handle(req, res).then(
      (status) => cloud.record(req.method ?? 'GET', path, status),
      (err: unknown) => {
        cloud.record(req.method ?? 'GET', path, 500);
        send(res, 500, { error: { code: 'EmulatorBug', message: String(err) } });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cloud.baseUrl = url;
  return {
    url,
    ca: cert,
    cloud,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
