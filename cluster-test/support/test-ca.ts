import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of a certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A throwaway certificate authority made with openssl, for TLS tests. */
export class TestCa {
  readonly cert: string;
  private readonly key: string;
  private serial = 1;

  constructor(private readonly dir: string, readonly name = 'keel-test-ca') {
    this.cert = join(dir, `${name}.crt`);
    this.key = join(dir, `${name}.key`);
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.key, '-out', this.cert, '-days', '2', '-subj', `/CN=${name}`]);
  }

  /**
   * A certificate signed by this CA for `commonName`, valid for loopback as a server and usable as
   * a client; written to `${file}.crt` and `${file}.key` (over what was there, for reload tests).
   * Each of `organizations` becomes an O of the subject (a Kubernetes group).
   */
  issue(file: string, commonName: string, organizations: string[] = []): CertFiles {
    const out = { cert: join(this.dir, `${file}.crt`), key: join(this.dir, `${file}.key`) };
    const csr = join(this.dir, `${file}.csr`);
    const ext = join(this.dir, `${file}.ext`);
    writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', out.key, '-out', csr, '-subj', `/CN=${commonName}${organizations.map((o) => `/O=${o}`).join('')}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.key, '-set_serial', String(this.serial++),
      '-out', out.cert, '-days', '2', '-extfile', ext]);
    return out;
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
