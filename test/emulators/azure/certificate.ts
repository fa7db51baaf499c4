/**
 * @module
 * A throw-away TLS certificate for the Azure emulator: self-signed, valid for `127.0.0.1` and `localhost`,
 * made fresh at every start (nothing is written to disk). The Azure SDK refuses bearer tokens over plain
 * HTTP, so the emulator speaks HTTPS and tests trust this certificate through an `https.Agent({ ca })`.
 */
import { generate } from 'selfsigned';

/** A PEM certificate and its private key. */
export interface LocalCertificate {
  readonly cert: string;
  readonly key: string;
}

/** Makes a self-signed certificate for the loopback addresses, valid for one day. */
export async function makeLocalCertificate(): Promise<LocalCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
