import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { PROTO_DIR } from '../util/paths';
import { decodeIndexFields, decodeKeyValue, encodeKeyValue, KeyValue } from './key-value';

describe('stored key-value records', () => {
  const records: KeyValue[] = [
    { key: Buffer.from('a'), create_revision: 2, mod_revision: 2, version: 1, value: Buffer.from('v'), lease: '0' },
    // A value long enough for a multi-byte length, revisions past 2^32, and a lease ID past 2^53.
    { key: Buffer.from([0, 0xff, 0x80, 0x41]), create_revision: 2 ** 40, mod_revision: 2 ** 40 + 7, version: 300,
      value: Buffer.alloc(70_000, 7), lease: '9223372036854775807' },
    { key: Buffer.from('empty-value'), create_revision: 5, mod_revision: 9, version: 3, value: Buffer.alloc(0), lease: '7587868467347193100' },
  ];

  it('decode to what was encoded', () => {
    for (const kv of records) assert.deepEqual(decodeKeyValue(encodeKeyValue(kv)), kv);
  });

  it('are the bytes protobuf writes for mvccpb.KeyValue (records already on disk stay readable)', () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
    root.loadSync('mvccpb/kv.proto', { keepCase: true });
    const type = root.lookupType('mvccpb.KeyValue');
    for (const kv of records) {
      // proto3 leaves out empty and zero fields; protobufjs writes any field it is given.
      const given = Object.fromEntries(Object.entries(kv).filter(([, v]) => !(v === 0 || v === '0' || (Buffer.isBuffer(v) && v.length === 0))));
      assert.equal(encodeKeyValue(kv).toString('hex'), Buffer.from(type.encode(type.fromObject(given)).finish()).toString('hex'));
    }
  });

  it('give the index fields without the value, equal to the full decode', () => {
    for (const kv of records) {
      const fields = decodeIndexFields(encodeKeyValue(kv));
      assert.deepEqual(fields, {
        key: kv.key.toString('latin1'), create_revision: kv.create_revision, version: kv.version, lease: kv.lease,
      });
    }
  });

  it('give the same index fields read in place, among other bytes, as the record alone', () => {
    const around = Buffer.alloc(5, 0xff);
    for (const kv of records) {
      const record = encodeKeyValue(kv);
      const held = Buffer.concat([around, record, around]);
      assert.deepEqual(decodeIndexFields(held, around.length, around.length + record.length), decodeIndexFields(record));
      // The end given bounds the read, not the buffer's: a cut record is refused though bytes follow.
      assert.throws(() => decodeIndexFields(held, around.length, around.length + record.length - 1), /cut short/);
    }
  });

  it('refuse a record cut short instead of reading past its end', () => {
    const bytes = encodeKeyValue(records[1]!);
    // Each cut falls inside a field (a cut between fields leaves a shorter valid record).
    for (const cut of [1, 3, 8, 22, 26, bytes.length - 1]) {
      assert.throws(() => decodeIndexFields(bytes.subarray(0, cut)), /cut short/, `cut at ${cut}`);
    }
  });
});
