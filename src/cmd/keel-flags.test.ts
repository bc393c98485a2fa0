import assert from 'node:assert/strict';
import { ConfigError } from '../server/errors';
import { REVISION_CHECK_INTERVAL_MS } from '../server/auto-compactor';
import { parseAutoCompaction, parseKeelFlags } from './keel-flags';

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
