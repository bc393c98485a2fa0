import assert from 'node:assert/strict';
import { type ClientDuplexStream, type ServiceError, status } from '@grpc/grpc-js';
import type { WatchRequest } from '../generated/etcdserverpb/WatchRequest';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { InProcessCluster, InProcessMember, startInProcessCluster, startInProcessMember } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';
import { MAX_WATCHERS_PER_STREAM } from './watch-service';

const b = (s: string) => Buffer.from(s);

/** A watch stream with its responses collected, and a way to wait for some to arrive. */
class Stream {
  readonly responses: WatchResponse__Output[] = [];
  /** The status the stream ended with, if it failed. */
  failure: { code: number; details: string } | undefined;
  private readonly call: ClientDuplexStream<WatchRequest, WatchResponse__Output>;

  constructor(m: InProcessMember) {
    this.call = m.client.watchStream();
    this.call.on('data', (r: WatchResponse__Output) => this.responses.push(r));
    this.call.on('error', (err: ServiceError) => {
      this.failure = { code: err.code, details: err.details };
    });
  }

  send(req: WatchRequest): void {
    this.call.write(req);
  }

  /** Waits until `pred` holds for the responses so far (polling), then returns them. */
  async until(pred: (rs: WatchResponse__Output[]) => boolean, ms = 5000): Promise<WatchResponse__Output[]> {
    const deadline = Date.now() + ms;
    while (!pred(this.responses)) {
      if (Date.now() > deadline) throw new Error(`watch responses never matched: ${JSON.stringify(this.summary())}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.responses;
  }

  /** Every event so far as "TYPE key@rev=value", per watch ID. */
  events(watchId: string): string[] {
    return this.responses.filter((r) => r.watch_id === watchId).flatMap((r) =>
      r.events.map((e) => `${e.type} ${e.kv?.key}@${e.kv?.mod_revision}${e.type === 'PUT' ? `=${e.kv?.value}` : ''}` +
        (e.prev_kv ? ` prev=${e.prev_kv.value}` : '')));
  }

  summary() {
    return this.responses.map((r) => ({ id: r.watch_id, created: r.created, canceled: r.canceled, rev: r.header?.revision, n: r.events.length }));
  }

  /** Cancels the stream, as clients stop watching: a half-close would leave it open. */
  end(): void {
    this.call.cancel();
  }
}

/** The member's watchers, as its metrics count them. */
async function watchers(m: InProcessMember): Promise<number> {
  const gauge = await m.registry.getSingleMetric('etcd_debugging_mvcc_watcher_total')!.get();
  return gauge.values[0]!.value;
}

describe('Watch service over gRPC', () => {
  let m: InProcessMember;
  beforeEach(async () => {
    m = await startInProcessMember();
  });
  afterEach(() => m.close());

  it(`refuses a watcher beyond ${MAX_WATCHERS_PER_STREAM} on one stream, and still serves the others`, async function () {
    this.timeout(60_000);
    const s = new Stream(m);
    for (let i = 0; i <= MAX_WATCHERS_PER_STREAM; i++) s.send({ create_request: { key: b(`w${i}`) } });
    const rs = await s.until((all) => all.filter((r) => r.created).length > MAX_WATCHERS_PER_STREAM, 30_000);
    const refused = rs.filter((r) => r.canceled);
    assert.equal(refused.length, 1);
    assert.match(refused[0]!.cancel_reason, /too many watchers on one stream/);
    assert.equal(refused[0]!.watch_id, '-1');
    await m.client.put({ key: b('w0'), value: b('v') });
    await s.until((all) => all.some((r) => r.watch_id === '0' && r.events.length === 1));
    s.end();
  });

  it('answers each create with one created reply carrying the current revision, in order', async () => {
    await m.client.put({ key: b('x'), value: b('1') }); // revision 2
    const s = new Stream(m);
    s.send({ create_request: { key: b('a') } });
    s.send({ create_request: { key: b('b'), range_end: b('c') } });
    const rs = await s.until((r) => r.length === 2);
    assert.deepEqual(rs.map((r) => [r.created, r.watch_id, r.header?.revision]), [[true, '0', '2'], [true, '1', '2']]);
    s.end();
  });

  it('streams puts and deletes live, all events of a txn in one response, with filters and prev_kv', async () => {
    const s = new Stream(m);
    s.send({ create_request: { key: b('k'), range_end: b('l'), prev_kv: true } });
    s.send({ create_request: { key: b('k'), range_end: b('l'), filters: ['NOPUT'] } });
    await s.until((r) => r.length === 2);
    await m.client.put({ key: b('k1'), value: b('a') }); // 2
    await m.client.txn({ success: [
      { request_put: { key: b('k1'), value: b('b') } }, { request_put: { key: b('k2'), value: b('c') } },
    ] }); // 3
    await m.client.deleteRange({ key: b('k1') }); // 4
    await s.until(() => s.events('0').length === 4 && s.events('1').length === 1);
    assert.deepEqual(s.events('0'), ['PUT k1@2=a', 'PUT k1@3=b prev=a', 'PUT k2@3=c', 'DELETE k1@4 prev=b']);
    assert.deepEqual(s.events('1'), ['DELETE k1@4']);
    const txnResponses = s.responses.filter((r) => r.watch_id === '0' && r.header?.revision === '3');
    assert.equal(txnResponses.length, 1, 'one txn, one response');
    s.end();
  });

  it('replays history from a past revision and goes on live', async () => {
    for (let i = 0; i < 5; i++) await m.client.put({ key: b('h'), value: b(`${i}`) }); // 2..6
    const s = new Stream(m);
    s.send({ create_request: { key: b('h'), start_revision: 4 } });
    await s.until(() => s.events('0').length === 3);
    await m.client.put({ key: b('h'), value: b('live') }); // 7
    await s.until(() => s.events('0').length === 4);
    assert.deepEqual(s.events('0'), ['PUT h@4=2', 'PUT h@5=3', 'PUT h@6=4', 'PUT h@7=live']);
    s.end();
  });

  it('cancels a watch below the compacted revision with compact_revision set', async () => {
    for (let i = 0; i < 4; i++) await m.client.put({ key: b('c'), value: b(`${i}`) }); // 2..5
    await m.client.compact({ revision: 4, physical: true });
    const s = new Stream(m);
    s.send({ create_request: { key: b('c'), start_revision: 2 } });
    const rs = await s.until((r) => r.some((x) => x.canceled));
    const canceled = rs.find((x) => x.canceled)!;
    assert.deepEqual([canceled.watch_id, canceled.compact_revision], ['0', '4']);
    assert.equal(canceled.header?.revision, '0', 'as etcd, the cancel names no revision');
    s.end();
  });

  it('stamps each response of a catch-up split for size with the revision of its own last event', async () => {
    await m.client.put({ key: b('s'), value: b('small') }); // 2
    await m.client.put({ key: b('s'), value: Buffer.alloc(1024 * 1024 + 1, 'x') }); // 3: a response's worth
    for (let i = 0; i < 5; i++) await m.client.put({ key: b('s'), value: b(`${i}`) }); // 4..8
    const s = new Stream(m);
    s.send({ create_request: { key: b('s'), start_revision: 2 } });
    await s.until(() => s.events('0').length === 7);
    // The catch-up ends where the engine had got to when the watch began, so the last puts may
    // come after it as live events; either way each response names its own last event's revision.
    const withEvents = s.responses.filter((r) => r.events.length > 0);
    const stamps = withEvents.map((r) => [r.header?.revision, r.events[r.events.length - 1]!.kv?.mod_revision]);
    assert.deepEqual(stamps[0], ['3', '3'], `the split after the large value: ${JSON.stringify(s.summary())}`);
    for (const [header, last] of stamps) assert.equal(header, last, JSON.stringify(s.summary()));
    s.end();
  });

  it('gives no previous value to a put that created its key, as etcd, even after a delete in the same txn', async () => {
    const s = new Stream(m);
    s.send({ create_request: { key: b('q'), range_end: b('r'), prev_kv: true } });
    await s.until((r) => r.length === 1);
    await m.client.put({ key: b('q1'), value: b('a') }); // 2
    await m.client.put({ key: b('q1'), value: b('b') }); // 3
    await m.client.txn({ success: [
      { request_delete_range: { key: b('q'), range_end: Buffer.from([0]) } }, { request_put: { key: b('q1'), value: b('c') } },
    ] }); // 4
    await s.until(() => s.events('0').length === 4);
    assert.deepEqual(s.events('0'), ['PUT q1@2=a', 'PUT q1@3=b prev=a', 'DELETE q1@4 prev=b', 'PUT q1@4=c']);
    s.end();
  });

  it('cancels on request, answers progress requests, and refuses a watch ID in use', async () => {
    const s = new Stream(m);
    s.send({ create_request: { key: b('p'), watch_id: 7 } });
    s.send({ create_request: { key: b('q'), watch_id: 7 } });
    await s.until((r) => r.length === 2);
    assert.deepEqual([s.responses[1]?.watch_id, s.responses[1]?.canceled, s.responses[1]?.cancel_reason], ['-1', true, 'mvcc: duplicate watch ID provided on the WatchStream']);
    await m.client.put({ key: b('p'), value: b('1') });
    // A put is answered once applied in memory; watchers hear of it once it reaches the engine, and
    // a progress answer names the newest revision they have all been given: it reaches 2 shortly.
    const progress = () => s.responses.filter((x) => x.watch_id === '-1').map((x) => x.header?.revision);
    s.send({ progress_request: {} });
    await s.until(() => progress().length > 0);
    while (progress()[progress().length - 1] !== '2') {
      const asked = progress().length;
      s.send({ progress_request: {} });
      await s.until(() => progress().length > asked);
    }
    assert.ok(progress().every((rev) => rev === '1' || rev === '2'), `progress revisions ${progress().join(', ')}`);
    s.send({ cancel_request: { watch_id: 7 } });
    await s.until((r) => r.some((x) => x.watch_id === '7' && x.canceled));
    await m.client.put({ key: b('p'), value: b('2') });
    assert.deepEqual(s.events('7'), ['PUT p@2=1'], 'nothing after the cancel');
    s.end();
  });

  // The stream ended when the client half-closed it: a client that sends its requests and then
  // CloseSend (grpcurl does) got the created answer and no events. etcd keeps the stream.
  it('keeps delivering after the client half-closes its side of the stream, as etcd does', async () => {
    const call = m.client.watchStream();
    const got: WatchResponse__Output[] = [];
    let ended = false;
    call.on('data', (r: WatchResponse__Output) => got.push(r));
    call.on('error', () => { /* canceled below */ });
    call.on('end', () => { ended = true; });
    call.write({ create_request: { key: b('hc') } });
    call.end();
    await eventually('the watch was created', () => got.length === 1);
    await m.client.put({ key: b('hc'), value: b('1') });
    await eventually('the event arrived, or the stream ended', () => got.some((r) => r.events.length === 1) || ended);
    assert.equal(ended, false, 'the server ended the stream when the client only half-closed it');
    call.cancel();
  });

  it('ends a stream that asks for a watcher after its member stopped, with no created reply', async () => {
    const s = new Stream(m);
    s.send({ create_request: { key: b('a') } });
    await s.until((r) => r.length === 1);
    await m.server.stop();
    s.send({ create_request: { key: b('b') } });
    await eventually('the stream ended', () => s.failure !== undefined);
    assert.deepEqual(s.failure, { code: status.UNAVAILABLE, details: 'etcdserver: server stopped' });
    assert.deepEqual(s.summary().map((r) => r.id), ['0']);
  });

  it('refuses a watch whose range is empty (range_end not after key), as etcd does', async () => {
    const s = new Stream(m);
    s.send({ create_request: { key: b('b'), range_end: b('a') } });
    s.send({ create_request: { key: b('b'), range_end: b('b') } });
    s.send({ create_request: { key: b('b') } });
    const rs = await s.until((r) => r.length === 3);
    // etcd's recvLoop: a watcher it could not create has no ID, so the reply carries -1 (InvalidWatchID),
    // and the next watcher gets the first ID.
    assert.deepEqual(rs.map((r) => [r.watch_id, r.created, r.canceled, r.cancel_reason]), [
      ['-1', true, true, 'mvcc: watcher range is empty'], ['-1', true, true, 'mvcc: watcher range is empty'], ['0', true, false, ''],
    ]);
    s.end();
  });

  // A progress response was stamped with the revision when it went out, after events queued behind it.
  it('never answers a progress request with a revision whose events for this stream are still queued behind it', async () => {
    await m.client.put({ key: b('p'), value: b('old') }); // 2
    const s = new Stream(m);
    s.send({ create_request: { key: b('p'), prev_kv: true } }); // 0: its events wait for a read of the previous value
    s.send({ create_request: { key: b('q') } }); // 1
    await s.until((r) => r.length === 2);
    // Hold the read of p's previous value, so watcher 0's event waits in the stream's queue.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let held = 0;
    const getMany = m.engine.getMany.bind(m.engine);
    m.engine.getMany = async (keys) => {
      held++;
      await gate;
      return getMany(keys);
    };
    await m.client.put({ key: b('p'), value: b('new') }); // 3
    await eventually('the previous value of p is being read', () => held > 0);
    s.send({ progress_request: {} });
    s.send({ create_request: { key: b('marker') } }); // 2: once it exists, the progress request was taken
    await eventually('the stream took the progress request', async () => (await watchers(m)) === 3);
    await m.client.put({ key: b('q'), value: b('x') }); // 4
    await eventually('revision 4 reached the watchers', () => m.server.watchRevision >= 4);
    release();
    await s.until(() => s.events('1').length === 1 && s.responses.some((r) => r.watch_id === '-1'));
    // A progress response at revision R promises every event up to R was sent before it (etcd).
    const progress = s.responses.findIndex((r) => r.watch_id === '-1');
    const progressRev = Number(s.responses[progress]!.header?.revision);
    const after = s.responses.slice(progress + 1).flatMap((r) => r.events.map((e) => Number(e.kv?.mod_revision)));
    assert.ok(after.every((rev) => rev > progressRev), `progress at ${progressRev}, then events at ${after.join(', ')}: ${JSON.stringify(s.summary())}`);
    s.end();
  });
});

describe('Watch progress and fragments', function () {
  this.timeout(20_000);
  let m: InProcessMember;
  before(async () => {
    m = await startInProcessMember({ watchProgressNotifyIntervalMs: 200, maxRequestBytes: 100 * 1024 });
  });
  after(() => m.close());

  it('sends progress notifications to watchers that asked, with the current revision', async () => {
    await m.client.put({ key: b('pn'), value: b('1') }); // 2
    const s = new Stream(m);
    s.send({ create_request: { key: b('pn'), progress_notify: true } });
    s.send({ create_request: { key: b('quiet') } });
    const rs = await s.until((r) => r.some((x) => !x.created && x.watch_id === '0' && x.events.length === 0));
    const note = rs.find((x) => !x.created && x.watch_id === '0')!;
    assert.equal(note.header?.revision, '2');
    assert.ok(!rs.some((x) => !x.created && x.watch_id === '1'), 'no notification for a watcher that did not ask');
    s.end();
  });

  // etcd v3rpc/watch.go sendLoop: a watcher that was sent events since the last notification skips the next one.
  it('sends no progress notification to a watcher that had events in the interval', async () => {
    const s = new Stream(m);
    s.send({ create_request: { key: b('busy'), progress_notify: true } });
    s.send({ create_request: { key: b('idle'), progress_notify: true } });
    s.send({ create_request: { key: b('idle too'), progress_notify: true } });
    await s.until((r) => r.filter((x) => x.created).length === 3);
    const notes = (id: string) => s.responses.filter((x) => !x.created && x.watch_id === id && x.events.length === 0).length;
    // Puts to the busy key until both idle watchers have had three notifications (a 200 ms
    // interval: well within 10 s). Four writers at once: one put and its flush to the engine took
    // longer than an interval on a loaded machine, so the busy watcher had a quiet one.
    const deadline = Date.now() + 10_000;
    const writer = async (w: number) => {
      for (let i = 0; (notes('1') < 3 || notes('2') < 3) && Date.now() < deadline; i++) await m.client.put({ key: b('busy'), value: b(`${w}-${i}`) });
    };
    await Promise.all([0, 1, 2, 3].map(writer));
    assert.deepEqual([notes('0'), Math.min(notes('1'), 3), Math.min(notes('2'), 3)], [0, 3, 3], 'notifications of the busy watcher and the two idle ones');
    assert.ok(s.events('0').length > 0);
    s.end();
  });

  it('splits a revision larger than the limit into fragments for a watcher that allows them', async () => {
    // A request is at most 100 KiB, but with previous values the events of one revision are twice that.
    const value = Buffer.alloc(20 * 1024, 'x');
    for (let i = 0; i < 4; i++) await m.client.put({ key: b(`f${i}`), value });
    const s = new Stream(m);
    s.send({ create_request: { key: b('f'), range_end: b('g'), fragment: true, prev_kv: true } });
    s.send({ create_request: { key: b('f'), range_end: b('g'), prev_kv: true } });
    await s.until((r) => r.length === 2);
    await m.client.txn({ success: Array.from({ length: 4 }, (_, i) => ({ request_put: { key: b(`f${i}`), value } })) });
    await s.until(() => s.events('0').length === 4 && s.events('1').length === 4);
    const parts = s.responses.filter((r) => r.watch_id === '0' && r.events.length > 0);
    assert.ok(parts.length > 1, 'fragmented');
    assert.deepEqual(parts.map((p) => p.fragment), [...Array<boolean>(parts.length - 1).fill(true), false]);
    assert.equal(s.responses.filter((r) => r.watch_id === '1' && r.events.length > 0).length, 1, 'whole for the other');
    s.end();
  });
});

describe('Watch at scale', function () {
  this.timeout(30_000);
  let m: InProcessMember;
  before(async () => {
    m = await startInProcessMember();
  });
  after(() => m.close());

  it('carries thousands of watchers on one stream, each created in order and each getting its events', async () => {
    const WATCHERS = 3000;
    const s = new Stream(m);
    for (let i = 0; i < WATCHERS; i++) s.send({ create_request: { key: b(`key-${i % 100}`) } });
    await s.until((r) => r.length === WATCHERS, 20_000);
    assert.deepEqual(s.responses.map((r) => r.watch_id), Array.from({ length: WATCHERS }, (_, i) => String(i)));
    for (let i = 0; i < 100; i++) await m.client.put({ key: b(`key-${i}`), value: b('v') });
    await s.until((r) => r.length === 2 * WATCHERS, 20_000);
    const perWatcher = new Map<string, number>();
    for (const r of s.responses.slice(WATCHERS)) perWatcher.set(r.watch_id, (perWatcher.get(r.watch_id) ?? 0) + r.events.length);
    assert.equal(perWatcher.size, WATCHERS);
    assert.ok([...perWatcher.values()].every((n) => n === 1), 'each watcher got exactly its one event');
    s.end();
  });
});

describe('Watch across a three-member cluster', function () {
  this.timeout(20_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('shows the same events at the same revisions on every member', async () => {
    c = await startInProcessCluster(3);
    await c.leader();
    const streams = c.members.map((mem) => new Stream(mem));
    for (const s of streams) s.send({ create_request: { key: b('w'), range_end: b('x') } });
    for (const s of streams) await s.until((r) => r.length === 1);
    for (let i = 0; i < 20; i++) await c.members[i % 3]!.client.put({ key: b(`w${i % 4}`), value: b(`${i}`) });
    for (const s of streams) await s.until(() => s.events('0').length === 20);
    assert.deepEqual(streams[1]!.events('0'), streams[0]!.events('0'));
    assert.deepEqual(streams[2]!.events('0'), streams[0]!.events('0'));
    for (const s of streams) s.end();
  });
});
