/**
 * @module
 * The test cluster's certificates, made with Debian's `openssl`: one CA, which signs the API server's
 * serving certificate, the client certificates of the control-plane components and kubelets, and each
 * kubelet's serving certificate (so `kubectl logs/exec` verify the kubelet they reach).
 *
 * ```
 * ca.crt/ca.key ──┬─ apiserver (server: 127.0.0.1, the advertised address, the `kubernetes` Service IP, DNS names)
 *                 ├─ apiserver-kubelet-client  (client, O=system:masters: logs, exec, port-forward)
 *                 ├─ kube-controller-manager, kube-scheduler, kube-proxy   (client, their RBAC users)
 *                 └─ per node: system:node:<name> (client, O=system:nodes) and <name>-serving (server: node IP)
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../harness/command.ts';

/** One key pair with its certificate. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** What a certificate is for. */
export interface CertRequest {
  /** File name stem inside the PKI folder. */
  readonly name: string;
  /** Subject common name (the user name, for client certificates). */
  readonly cn: string;
  /** Subject organisations (the groups, for client certificates). */
  readonly orgs?: readonly string[];
  readonly usage: 'client' | 'server';
  readonly ips?: readonly string[];
  readonly dns?: readonly string[];
}

/** A CA in a folder; {@link Pki.issue} signs certificates with it. */
export class Pki {
  readonly dir: string;
  readonly ca: CertFiles;

  private constructor(dir: string) {
    this.dir = dir;
    this.ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  }

  /** Creates the CA in `dir` (an existing folder). */
  static async create(dir: string): Promise<Pki> {
    const pki = new Pki(dir);
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=cloud-egress-test-ca',
      '-keyout',
      pki.ca.key,
      '-out',
      pki.ca.cert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    return pki;
  }

  /** Issues a certificate signed by the CA. */
  async issue(request: CertRequest): Promise<CertFiles> {
    const files = { cert: join(this.dir, `${request.name}.crt`), key: join(this.dir, `${request.name}.key`) };
    const csr = join(this.dir, `${request.name}.csr`);
    const ext = join(this.dir, `${request.name}.ext`);
    const subject = [...(request.orgs ?? []).map((o) => `/O=${o}`), `/CN=${request.cn}`].join('');
    await openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      files.key,
      '-out',
      csr,
    ]);
    const alt = [
      ...(request.ips ?? []).map((ip) => `IP:${ip}`),
      ...(request.dns ?? []).map((d) => `DNS:${d}`),
    ];
    await writeFile(
      ext,
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${request.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
        ...(alt.length > 0 ? [`subjectAltName=${alt.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.ca.cert,
      '-CAkey',
      this.ca.key,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      files.cert,
    ]);
    return files;
  }
}

async function openssl(args: readonly string[]): Promise<void> {
  await runCommand('openssl', args, { timeoutMs: 60_000 });
}

/** A kubeconfig file for `server` that authenticates with a client certificate. */
export async function writeCertKubeconfig(
  path: string,
  server: string,
  caFile: string,
  client: CertFiles,
  user: string,
): Promise<string> {
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: box`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caFile}`,
    'users:',
    `- name: ${JSON.stringify(user)}`,
    '  user:',
    `    client-certificate: ${client.cert}`,
    `    client-key: ${client.key}`,
    'contexts:',
    '- name: box',
    '  context:',
    '    cluster: box',
    `    user: ${JSON.stringify(user)}`,
    'current-context: box',
    '',
  ].join('\n');
  await writeFile(path, text, { mode: 0o600 });
  return path;
}
