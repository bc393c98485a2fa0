import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDuration } from '../util/go-duration';
import { goJsonString, goQuote, hexId16, humanizeBytes } from './go-format';
import { goJson } from './go-json';

/** Expected values are what Go prints for the same input (fmt %q, encoding/json, go-humanize). */
describe('Go formatting as etcdctl prints it', () => {
  const quotes: Array<[Uint8Array | string, string]> = [
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['tab\tnl\n', '"tab\\tnl\\n"'],
    ['é漢', '"é漢"'],
    [Buffer.from([0xff, 0x01, 0x7f]), '"\\xff\\x01\\x7f"'],
    ['\u200b', '"\\u200b"'],
  ];
  for (const [input, want] of quotes) it(`%q of ${JSON.stringify(input.toString())}`, () => assert.equal(goQuote(input), want));

  it('escapes HTML characters in JSON strings as encoding/json does', () => {
    assert.equal(goJsonString('<a&b>\u2028'), '"\\u003ca\\u0026b\\u003e\\u2028"');
  });

  const sizes: Array<[number, string]> = [[5, '5 B'], [20480, '20 kB'], [1500, '1.5 kB'], [12_500_000, '12 MB'], [13_500_000, '14 MB'], [999_999, '1000 kB']];
  for (const [n, want] of sizes) it(`humanize.Bytes(${n}) = ${want}`, () => assert.equal(humanizeBytes(n), want));

  it('pads member IDs to 16 with spaces, as %16x', () => assert.equal(hexId16('255'), '              ff'));

  it('formats and parses Go durations', () => {
    assert.equal(formatGoDuration(1_457_676n), '1.457676ms');
    assert.equal(formatGoDuration(2_500_000_000n), '2.5s');
    assert.equal(formatGoDuration(61_000_000_000n), '1m1s');
    assert.equal(formatGoDuration(999n), '999ns');
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('500ms'), 500);
    assert.equal(parseGoDuration('5'), undefined);
  });

  it('encodes a message like Go encoding/json of the gogo struct: omitempty, base64, enums as numbers', () => {
    const event = { type: 'DELETE', kv: { key: Buffer.from('k'), create_revision: '0', mod_revision: '7', version: '0', value: Buffer.alloc(0), lease: '0' }, prev_kv: null };
    assert.equal(goJson('mvccpb.Event', event), '{"type":1,"kv":{"key":"aw==","mod_revision":7}}');
    const op = { response: 'response_put', response_put: { header: { cluster_id: '0', member_id: '0', revision: '3', raft_term: '0' }, prev_kv: null } };
    assert.equal(goJson('etcdserverpb.ResponseOp', op), '{"Response":{"ResponsePut":{"header":{"revision":3}}}}');
  });
});
