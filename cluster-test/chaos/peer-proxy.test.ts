import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../../src/client/etcd-client';
import { eventually } from '../../src/util/eventually';
import { ChaosCluster } from './cluster';
import { PeerProxy } from './peer-proxy';

/** Opens a tunnel through the proxy port of one member to `port`; resolves once the proxy said 200. */
async function tunnel(proxyPort: number, port: number): Promise<Socket> {
  const s = createConnection({ host: '127.0.0.1', port: proxyPort });
  s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const got = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\r\n\r\n')) done();
    };
    const done = () => {
      s.off('data', onData);
      resolve(text);
    };
    s.on('data', onData).once('close', done).on('error', () => {});
  });
  if (!got.startsWith('HTTP/1.1 200')) {
    s.destroy();
    throw new Error(`no tunnel: ${JSON.stringify(got)}`);
  }
  return s;
}

/** Sends `text` and resolves with what came back (the servers here echo). */
async function echo(s: Socket, text: string): Promise<string> {
  s.write(text);
  const [chunk] = await once(s, 'data') as [Buffer];
  return chunk.toString();
}

describe('PeerProxy', () => {
  let proxy: PeerProxy;
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  /** A server standing for member `name`'s peer port: `serve` answers each connection (an echo unless given). */
  const member = async (name: string, serve: (s: Socket) => void = (s) => s.pipe(s)) => {
    const srv = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      serve(s);
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    proxy.setPeerPort(name, port);
    return { port, proxyPort: await proxy.listenFor(name) };
  };
  beforeEach(() => {
    proxy = new PeerProxy();
  });
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await proxy.close();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('carries bytes, and a cut link resets its tunnels and refuses new ones until healed, in its direction only', async () => {
    const a = await member('a');
    const b = await member('b');
    const ab = await tunnel(a.proxyPort, b.port);
    sockets.push(ab);
    assert.equal(await echo(ab, 'hello'), 'hello');
    assert.equal(proxy.tunnelsOpened('a', 'b'), 1);

    proxy.cut('a', 'b');
    // Reset by the proxy (events.once would reject on the reset's 'error': wait for 'close' alone).
    if (!ab.destroyed) await new Promise((r) => ab.once('close', r));
    await assert.rejects(tunnel(a.proxyPort, b.port), /no tunnel/);
    // The other direction is a link of its own.
    const ba = await tunnel(b.proxyPort, a.port);
    sockets.push(ba);
    assert.equal(await echo(ba, 'back'), 'back');

    proxy.heal('a', 'b');
    const again = await tunnel(a.proxyPort, b.port);
    sockets.push(again);
    assert.equal(await echo(again, 'again'), 'again');
  });

  it('delays a slow link each way, and is fast again once healed', async () => {
    const a = await member('a');
    const b = await member('b');
    const ab = await tunnel(a.proxyPort, b.port);
    sockets.push(ab);
    proxy.setDelay('a', 'b', 150);
    let started = Date.now();
    assert.equal(await echo(ab, 'slow'), 'slow');
    assert.ok(Date.now() - started >= 300, `a round trip took ${Date.now() - started} ms, under two delays`);
    proxy.healAll();
    started = Date.now();
    assert.equal(await echo(ab, 'fast'), 'fast');
    assert.ok(Date.now() - started < 150, `a round trip took ${Date.now() - started} ms after healing`);
  });

  it('holds everything on a silent link, both ways and new tunnels too, and lets it through in order once healed', async () => {
    const a = await member('a');
    const b = await member('b');
    const ab = await tunnel(a.proxyPort, b.port);
    sockets.push(ab);
    assert.equal(await echo(ab, 'before'), 'before');
    proxy.silence('a', 'b');
    let got = '';
    ab.on('data', (c: Buffer) => { got += c.toString(); });
    ab.write('one,');
    ab.write('two');
    const late = tunnel(a.proxyPort, b.port);
    // A silent link answers nothing: the echo and the new tunnel wait for the heal, and no tunnel closes.
    let answered = false;
    void late.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(got, '');
    assert.equal(answered, false);
    assert.equal(ab.destroyed, false);
    proxy.heal('a', 'b');
    await eventually('the held bytes went through', () => got === 'one,two');
    const lateTunnel = await late;
    sockets.push(lateTunnel);
    assert.equal(await echo(lateTunnel, 'after'), 'after');
  });

  // A receiver that answered and closed its end had the tunnel reset at once, the answer still in
  // the slow link: the sender of a whole snapshot saw a reset and sent it all again.
  it('passes an orderly close on after the bytes before it, on a slow link too', async () => {
    const b = await member('b', (s) => s.once('data', () => s.end('answered')));
    const a = await member('a');
    proxy.setDelay('a', 'b', 100);
    const ab = await tunnel(a.proxyPort, b.port);
    sockets.push(ab);
    let got = '';
    ab.on('data', (c: Buffer) => { got += c.toString(); });
    const errors: Error[] = [];
    ab.on('error', (err) => errors.push(err));
    ab.write('the whole state');
    await once(ab, 'end');
    assert.equal(got, 'answered');
    assert.deepEqual(errors, [], 'closed in order, not reset');
  });
});

describe('PeerProxy under a Keel cluster', function () {
  this.timeout(120_000);
  let dir: string;
  let cluster: ChaosCluster | undefined;
  const clients: EtcdClient[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-proxy-'));
  });
  after(async function () {
    for (const c of clients) c.close();
    await cluster?.stop();
    if (this.currentTest?.state === 'failed') console.log(`logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });

  it('a member cut off by the proxy falls behind, and catches up once healed', async () => {
    cluster = await ChaosCluster.start(dir, 3);
    const [m1, m2] = cluster.names() as [string, string, string];
    const c1 = new EtcdClient(cluster.endpoint(m1), { commandTimeoutMs: 2000 });
    const c2 = new EtcdClient(cluster.endpoint(m2), { commandTimeoutMs: 2000 });
    clients.push(c1, c2);
    // Peer traffic really goes through the proxy: the leader's tunnels to its followers are counted there.
    const leader = await cluster.leader();
    await eventually('the leader has tunnels to both followers', () => cluster!.names().filter((o) => o !== leader).every((o) => cluster!.proxy.tunnelsOpened(leader, o) > 0));
    for (const o of cluster.names().slice(1)) {
      cluster.proxy.cut(m1, o);
      cluster.proxy.cut(o, m1);
    }
    await eventually('a write commits without m1', async () => (await c2.put({ key: Buffer.from('k'), value: Buffer.from('v') }), true), 30_000, 200);
    // m1 cannot confirm a linearizable read with a leader it cannot reach...
    await assert.rejects(c1.range({ key: Buffer.from('k') }));
    // ...and has not got the write.
    assert.equal((await c1.range({ key: Buffer.from('k'), serializable: true })).kvs.length, 0);
    cluster.proxy.healAll();
    await eventually('m1 has the write after healing', async () => (await c1.range({ key: Buffer.from('k'), serializable: true })).kvs[0]?.value.toString() === 'v', 30_000, 100);
  });
});
