import assert from 'node:assert/strict';
import { decodeInternalRequest, encodeInternalRequest } from '../server/internal-request';
import { arrivedAs } from '../util/arrived-as';
import { KV_SERVICE } from './kv-service';

const b = (s: string) => Buffer.from(s);

/** What the client sends, and the object the server decodes it to, as grpc-js hands it over. */
function arrive(method: 'Put' | 'DeleteRange' | 'Txn', req: object): object {
  const m = KV_SERVICE[method]!;
  const bytes = m.requestSerialize(req);
  const decoded = m.requestDeserialize(bytes) as object;
  assert.equal(arrivedAs(decoded), bytes, 'the decoded request keeps its bytes');
  return decoded;
}

const writes = {
  put: arrive('Put', { key: b('k'), value: b('v'.repeat(300)), lease: '7587869425586069250', prev_kv: true, ignore_value: false }),
  put_ignoring: arrive('Put', { key: b('k'), ignore_value: true, ignore_lease: true }),
  delete_range: arrive('DeleteRange', { key: b('a'), range_end: b('z'), prev_kv: true }),
  txn: arrive('Txn', {
    compare: [
      { key: b('k'), target: 'MOD', result: 'EQUAL', mod_revision: '12' },
      { key: b('a'), range_end: b('b'), target: 'VALUE', result: 'GREATER', value: b('x') },
    ],
    success: [{ request_put: { key: b('k'), value: b('v') } }, { request_txn: { success: [{ request_delete_range: { key: b('q') } }] } }],
    failure: [{ request_range: { key: b('k'), limit: '3', sort_order: 'DESCEND' } }],
  }),
};

describe('a KV write entering the log as the bytes it arrived in', () => {
  for (const [field, req] of Object.entries(writes)) {
    const name = field === 'put_ignoring' ? 'put' : field;
    for (const auth_revision of [0, 41]) {
      it(`${field}, auth revision ${auth_revision}: decodes from the log exactly as its object encoded afresh`, () => {
        const id = '18446744073709551557'; // near 2^64: every bit of the varint counts
        const fromBytes = encodeInternalRequest({ id, [name]: req, auth_revision });
        const plain = { ...req }; // a copy leaves the bytes behind, so this one is encoded afresh
        assert.equal(arrivedAs(plain), undefined);
        const fromObject = encodeInternalRequest({ id, [name]: plain, auth_revision });
        assert.ok(fromBytes.includes(Buffer.from(arrivedAs(req)!)), 'the request bytes are in the entry as they came');
        assert.deepEqual(decodeInternalRequest(fromBytes), decodeInternalRequest(fromObject));
      });
    }
  }
});
