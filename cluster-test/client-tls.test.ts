import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { loadTlsOptions } from '../src/cmd/tls-files';
import { eventually } from '../src/util/eventually';
import { etcdctl, keelctl } from './support/etcdctl';
import { KEEL_BIN, MemberProcess, startKeel } from './support/member-process';
import { CertFiles, TestCa } from './support/test-ca';

/** The serial number of the certificate a TLS server presents. */
function servedSerial(endpoint: string, ca: string): Promise<string> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), servername: 'localhost', ca: readFileSync(ca), ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('client TLS (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth)', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: TestCa;
  let server: CertFiles;
  let client: CertFiles;
  let member: MemberProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-tls-'));
    ca = new TestCa(dir);
    server = ca.issue('server', 'keel-server');
    client = ca.issue('client', 'root');
    member = await startKeel({
      baseDir: join(dir, 'member'),
      clientTls: { ca: ca.cert, ...client },
      extraArgs: ['--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', ca.cert, '--client-cert-auth'],
    });
  });
  after(async () => {
    await member?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const tlsFlags = () => [`--cacert=${ca.cert}`, `--cert=${client.cert}`, `--key=${client.key}`];
  const url = () => `https://${member!.endpoint}`;

  it('serves the real etcdctl and keelctl that present a certificate from the trusted CA', async () => {
    const put = await etcdctl(url(), [...tlsFlags(), 'put', 'secure', 'yes']);
    assert.deepEqual([put.code, put.stdout], [0, 'OK\n'], put.stderr);
    const viaEtcdctl = await etcdctl(url(), [...tlsFlags(), 'get', 'secure']);
    const viaKeelctl = await keelctl(url(), [...tlsFlags(), 'get', 'secure']);
    assert.deepEqual([viaEtcdctl.code, viaEtcdctl.stdout], [0, 'secure\nyes\n'], viaEtcdctl.stderr);
    assert.deepEqual([viaKeelctl.code, viaKeelctl.stdout], [0, 'secure\nyes\n'], viaKeelctl.stderr);
    // keelctl without the CA, told not to check the server: still TLS, still its client certificate.
    const skipVerify = await keelctl(url(), [`--cert=${client.cert}`, `--key=${client.key}`, '--insecure-skip-tls-verify', 'get', 'secure']);
    assert.deepEqual([skipVerify.code, skipVerify.stdout], [0, 'secure\nyes\n'], skipVerify.stderr);
  });

  it('refuses clients without a certificate, with one from another CA, and plain-text clients', async () => {
    const stranger = new TestCa(dir, 'other-ca').issue('stranger', 'root');
    const attempts = [
      await etcdctl(url(), ['--dial-timeout=1s', '--command-timeout=2s', `--cacert=${ca.cert}`, 'get', 'secure']),
      await keelctl(url(), ['--dial-timeout=1s', '--command-timeout=2s', `--cacert=${ca.cert}`, 'get', 'secure']),
      await keelctl(url(), ['--dial-timeout=1s', '--command-timeout=2s', `--cacert=${ca.cert}`, `--cert=${stranger.cert}`, `--key=${stranger.key}`, 'get', 'secure']),
      await keelctl(member!.endpoint, ['--dial-timeout=1s', '--command-timeout=2s', 'get', 'secure']),
    ];
    for (const a of attempts) {
      assert.notEqual(a.code, 0, `a refused client got in: ${a.stdout}`);
      assert.doesNotMatch(a.stdout, /yes/);
    }
    assert.match(readFileSync(member!.logFile, 'utf8'), /rejected connection/);
  });

  it('serves a renewed certificate without a restart', async () => {
    const before = await servedSerial(member!.endpoint, ca.cert);
    ca.issue('server', 'keel-server'); // the same files, a new certificate
    await eventually('the new certificate is served', async () => (await servedSerial(member!.endpoint, ca.cert)) !== before, 15_000, 200);
    const get = await etcdctl(url(), [...tlsFlags(), 'get', 'secure', '--print-value-only']);
    assert.deepEqual([get.code, get.stdout], [0, 'yes\n'], get.stderr);
    assert.match(readFileSync(member!.logFile, 'utf8'), /reloaded TLS certificate/);
  });

  it('takes the client certificate\'s common name as the user once auth is on', async () => {
    const alice = ca.issue('alice', 'alice');
    const as = (cert: CertFiles, args: string[]) => etcdctl(url(), [`--cacert=${ca.cert}`, `--cert=${cert.cert}`, `--key=${cert.key}`, ...args]);
    for (const step of [['user', 'add', 'root:rootpw'], ['user', 'add', 'alice:alicepw'], ['auth', 'enable']]) {
      const r = await as(client, step);
      assert.equal(r.code, 0, `${step.join(' ')}: ${r.stderr}`);
    }
    try {
      // No --user: the certificate (CN=root) says who is calling.
      const asRoot = await as(client, ['put', 'by-cert', 'root']);
      assert.deepEqual([asRoot.code, asRoot.stdout], [0, 'OK\n'], asRoot.stderr);
      const asAlice = await as(alice, ['put', 'by-cert', 'alice']);
      assert.equal(asAlice.code, 1);
      assert.match(asAlice.stderr, /Error: etcdserver: permission denied/);
      const value = await as(client, ['get', 'by-cert', '--print-value-only']);
      assert.equal(value.stdout, 'root\n', 'the refused write changed nothing');
    } finally {
      await as(client, ['auth', 'disable']);
    }
  });

  it('refuses to start on an https URL without a certificate, or with a missing, mismatched or expired one', () => {
    const keel = (args: string[]) => spawnSync(process.execPath, [KEEL_BIN, '--data-dir', join(dir, 'never'), ...args], { encoding: 'utf8' });
    const https = ['--listen-client-urls', 'https://127.0.0.1:0', '--advertise-client-urls', 'https://127.0.0.1:2379'];
    const cases: Array<[string[], RegExp]> = [
      [https, /TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:0 with HTTPS scheme/],
      [[...https, '--cert-file', server.cert], /--cert-file and --key-file must be given together/],
      [[...https, '--cert-file', server.cert, '--key-file', server.key, '--client-cert-auth'], /--client-cert-auth needs --trusted-ca-file/],
      [[...https, '--cert-file', join(dir, 'none.crt'), '--key-file', server.key], /cannot read --cert-file ".*none\.crt"/],
      [[...https, '--cert-file', server.cert, '--key-file', client.key], /cannot use --cert-file ".*server\.crt" with --key-file ".*client\.key"/],
    ];
    for (const [args, message] of cases) {
      const run = keel(args);
      assert.notEqual(run.status, 0, `keel started with ${args.join(' ')}`);
      assert.match(run.stderr, message);
    }
    const files = { certFile: server.cert, keyFile: server.key, clientCertAuth: false };
    assert.throws(() => loadTlsOptions(files, '', new Date(Date.now() + 3 * 86_400_000)), /--cert-file ".*server\.crt" expired on /);
  });
});
