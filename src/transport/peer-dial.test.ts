import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { TestCa } from '../../cluster-test/support/test-ca';
import { dialPeer } from './peer-dial';

const listening = <T extends Server | HttpServer>(server: T) => new Promise<T>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const portOf = (server: Server | HttpServer) => (server.address() as AddressInfo).port;

/** Reads from `socket` (as dialPeer hands it over, paused) until `n` bytes came. */
function read(socket: Socket, n: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.length >= n) resolve(got);
    });
    socket.resume();
  });
}

describe('dialling a peer for a Raft stream', () => {
  let peer: Server;
  let proxy: HttpServer;
  /** CONNECT targets the proxy was asked for; it answers `answer` (200 opens the tunnel). */
  const asked: string[] = [];
  let answer = 200;
  const saved = { grpc_proxy: process.env.grpc_proxy, no_grpc_proxy: process.env.no_grpc_proxy };

  before(async () => {
    // The peer says "hello <what it read>" back, so a test sees both directions work.
    peer = await listening(createServer((s) => s.on('data', (b) => s.write(`hello ${b.toString()}`))));
    proxy = await listening(createHttpServer());
    proxy.on('connect', (req, client: Socket) => {
      asked.push(req.url!);
      if (answer !== 200) return void client.end(`HTTP/1.1 ${answer} Forbidden\r\n\r\n`);
      const [host, port] = req.url!.split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client).pipe(upstream);
      });
    });
  });
  afterEach(() => {
    asked.length = 0;
    answer = 200;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  after(() => {
    peer.close();
    proxy.close();
    proxy.closeAllConnections();
  });

  it('connects straight to the peer without a proxy set', async () => {
    delete process.env.grpc_proxy;
    const s = await dialPeer(`127.0.0.1:${portOf(peer)}`, undefined);
    s.write('x');
    assert.equal(await read(s, 7), 'hello x');
    s.destroy();
  });

  it('goes through the proxy grpc_proxy names, as grpc-js does, with HTTP CONNECT', async () => {
    process.env.grpc_proxy = `http://127.0.0.1:${portOf(proxy)}`;
    const s = await dialPeer(`127.0.0.1:${portOf(peer)}`, undefined);
    s.write('y');
    assert.equal(await read(s, 7), 'hello y');
    assert.deepEqual(asked, [`127.0.0.1:${portOf(peer)}`]);
    s.destroy();
  });

  it('speaks TLS through the proxy tunnel, checking the peer against the CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-peer-dial-'));
    try {
      const ca = new TestCa(dir);
      const files = ca.issue('member', 'member');
      const [cert, key, caCert] = [readFileSync(files.cert), readFileSync(files.key), readFileSync(ca.cert)];
      const secure = await listening(createTlsServer({ cert, key, ca: caCert, requestCert: true }, (s) => s.on('data', (b) => s.write(`hello ${b.toString()}`))));
      process.env.grpc_proxy = `http://127.0.0.1:${portOf(proxy)}`;
      const s = await dialPeer(`127.0.0.1:${portOf(secure)}`, { cert, key, ca: caCert });
      s.write('z');
      assert.equal(await read(s, 7), 'hello z');
      assert.deepEqual(asked, [`127.0.0.1:${portOf(secure)}`]);
      s.destroy();
      secure.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bypasses the proxy for a host no_grpc_proxy lists, by name or CIDR block', async () => {
    process.env.grpc_proxy = `http://127.0.0.1:${portOf(proxy)}`;
    for (const list of ['127.0.0.1', 'example.org, 127.0.0.0/8']) {
      process.env.no_grpc_proxy = list;
      (await dialPeer(`127.0.0.1:${portOf(peer)}`, undefined)).destroy();
    }
    assert.deepEqual(asked, []);
  });

  it('fails when the proxy refuses the tunnel, or nothing listens', async () => {
    process.env.grpc_proxy = `http://127.0.0.1:${portOf(proxy)}`;
    answer = 403;
    await assert.rejects(dialPeer(`127.0.0.1:${portOf(peer)}`, undefined), /the proxy answered CONNECT with 403/);
    delete process.env.grpc_proxy;
    const closed = await listening(createServer());
    const port = portOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(dialPeer(`127.0.0.1:${port}`, undefined), /ECONNREFUSED/);
  });
});
