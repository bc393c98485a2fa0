import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import { keepArrivedAs } from '../util/arrived-as';
import { PROTO_DIR } from '../util/paths';
import { decodeInternalRequest, encodeInternalRequest } from './internal-request';

/** protobufjs' own writing of internal.proto: the reference. */
function reference() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync('keelpb/internal.proto', { keepCase: true });
  const type = root.lookupType('keelpb.InternalRequest');
  const put = root.lookupType('etcdserverpb.PutRequest');
  return {
    encode: (req: object) => Buffer.from(type.encode(type.fromObject(req)).finish()),
    /** A put as it arrives from a client: the object carries the bytes it was read from. */
    arrived: (req: object) => keepArrivedAs({ ...req }, put.encode(put.fromObject(req)).finish()),
  };
}

describe('log entries holding a client write', () => {
  const { encode, arrived } = reference();
  const puts: Array<[string, InternalRequest]> = [
    ['a put under the largest ID', { id: '18446744073709551615', put: { key: Buffer.from('k'), value: Buffer.from('v') } }],
    ['a put with a lease and an auth revision', { id: '3', auth_revision: '7', put: { key: Buffer.from('k'), lease: '-5', prev_kv: true } }],
    ['an empty put under ID 0', { id: '0', put: {} }],
  ];
  for (const [what, req] of puts) {
    it(`hold ${what} in the bytes it arrived in, as protobuf writes the whole entry`, () => {
      const bytes = encodeInternalRequest({ ...req, put: arrived(req.put!) });
      assert.equal(bytes.toString('hex'), encode(req).toString('hex'));
      const back = decodeInternalRequest(bytes);
      assert.equal(back.id, req.id);
      assert.equal(back.auth_revision, req.auth_revision ?? '0');
    });
  }
});
