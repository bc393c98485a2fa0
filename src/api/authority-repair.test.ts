import assert from 'node:assert/strict';
import { connect, ClientHttp2Session } from 'node:http2';
import { InProcessMember, startInProcessMember } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';
import { repairAuthority } from './authority-repair';

describe('repairAuthority', () => {
  const table: Array<[string, string]> = [
    ['127.0.0.1:2379', '127.0.0.1:2379'],
    ['http://127.0.0.1:2379', '127.0.0.1:2379'],
    ['https://keel-0.keel-peer:2379', 'keel-0.keel-peer:2379'],
    ['http://[::1]:2379/', '[::1]:2379'],
    ['localhost', 'localhost'],
    ['bad host', ''],
  ];
  for (const [given, repaired] of table) it(`${JSON.stringify(given)} → ${JSON.stringify(repaired)}`, () => assert.equal(repairAuthority(given), repaired));
});

/** A gRPC unary call by hand: a 5-byte frame header and an empty message, answered in trailers. */
function statusCall(session: ClientHttp2Session, authority: string): Promise<{ status: number; grpcStatus: string; body: number }> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST', ':path': '/etcdserverpb.Maintenance/Status', ':authority': authority,
      'content-type': 'application/grpc', te: 'trailers',
    });
    let status = 0;
    let body = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (d: Buffer) => (body += d.length));
    req.on('trailers', (trailers) => resolve({ status, grpcStatus: String(trailers['grpc-status']), body }));
    req.on('error', reject);
    req.end(Buffer.alloc(5));
  });
}

describe('the client port with a malformed :authority (etcdctl 3.4 --cluster)', function () {
  this.timeout(20_000);
  let member: InProcessMember;
  before(async () => {
    member = await startInProcessMember();
    await eventually('a leader', () => member.server.leader !== 0n);
  });
  after(() => member.close());

  for (const [title, authority] of [['a well-formed authority', 'HOST'], ['an authority with a scheme', 'http://HOST']] as const) {
    it(`answers every call on a connection whose requests carry ${title}`, async () => {
      const session = connect(`http://${member.endpoint}`);
      try {
        // Several calls on one connection: after the first, the authority comes from HPACK's dynamic table.
        for (let i = 0; i < 3; i++) {
          const reply = await statusCall(session, authority.replace('HOST', member.endpoint));
          assert.deepEqual({ ...reply, body: reply.body > 5 }, { status: 200, grpcStatus: '0', body: true });
        }
      } finally {
        session.close();
      }
    });
  }
});
