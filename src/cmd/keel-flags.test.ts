import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../server/errors';
import { REVISION_CHECK_INTERVAL_MS } from '../server/auto-compactor';
import { parseAuthToken, parseAutoCompaction, parseKeelFlags } from './keel-flags';

describe('keel flags: quota and auto-compaction (etcd names and parsing)', () => {
  const cases: Array<[string, string, ReturnType<typeof parseAutoCompaction>]> = [
    ['periodic', '0', undefined],
    ['periodic', '1', { mode: 'periodic', retentionMs: 3_600_000 }],
    ['periodic', '30m', { mode: 'periodic', retentionMs: 1_800_000 }],
    ['periodic', '1h30m', { mode: 'periodic', retentionMs: 5_400_000 }],
    ['revision', '1000', { mode: 'revision', retention: 1000, checkIntervalMs: REVISION_CHECK_INTERVAL_MS }],
    ['revision', '0', undefined],
  ];
  for (const [mode, retention, want] of cases) {
    it(`--auto-compaction-mode ${mode} --auto-compaction-retention ${retention}`, () => {
      assert.deepEqual(parseAutoCompaction(mode, retention), want);
    });
  }

  it('refuses an unknown mode and retentions it cannot read', () => {
    assert.throws(() => parseAutoCompaction('hourly', '1'), ConfigError);
    assert.throws(() => parseAutoCompaction('periodic', '1x'), ConfigError);
    assert.throws(() => parseAutoCompaction('revision', '10m'), ConfigError);
  });

  it('defaults as etcd: quota 0 (the 2 GiB default), periodic mode, retention 0 (off)', () => {
    const flags = parseKeelFlags([], 'test');
    assert.equal(flags.quotaBackendBytes, 0);
    assert.equal(flags.autoCompaction, undefined);
    assert.equal(parseKeelFlags(['--quota-backend-bytes', '-1'], 'test').quotaBackendBytes, -1);
    assert.deepEqual(parseKeelFlags(['--auto-compaction-retention', '5m'], 'test').autoCompaction, { mode: 'periodic', retentionMs: 300_000 });
  });
});

describe('keel flags: --auth-token', () => {
  it('is simple by default', () => assert.deepEqual(parseAuthToken('simple'), {}));

  it('reads jwt keys, sign method and ttl (5 minutes unless given)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-flags-jwt-'));
    try {
      writeFileSync(join(dir, 'k.pub'), 'public');
      const { jwt } = parseAuthToken(`jwt,pub-key=${join(dir, 'k.pub')},sign-method=ES256`);
      assert.deepEqual(jwt, { publicKey: Buffer.from('public'), signMethod: 'ES256', ttlMs: 300_000 });
      assert.equal(parseAuthToken(`jwt,pub-key=${join(dir, 'k.pub')},sign-method=RS256,ttl=10m`).jwt?.ttlMs, 600_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const refused: Array<[string, RegExp]> = [
    ['jwk', /unknown token type/],
    ['jwt,pub-key=/nonexistent,sign-method=HS256', /jwt needs sign-method, one of RS256/],
    ['jwt,sign-method=RS256', /jwt needs pub-key/],
    ['jwt,pub-key=/nonexistent/k.pub,sign-method=RS256', /cannot read \/nonexistent\/k.pub/],
    ['jwt,colour=blue', /unknown jwt option "colour=blue"/],
  ];
  for (const [spec, message] of refused) {
    it(`refuses ${spec}`, () => assert.throws(() => parseAuthToken(spec), (err: Error) => err instanceof ConfigError && message.test(err.message)));
  }
});
