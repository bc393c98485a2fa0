import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonLines, Recorder, writeJsonLines } from './history';

describe('history recorder and JSON-lines files', () => {
  it('records ops at completion with their invocation time, and reads back what it wrote', async () => {
    let now = 0;
    const rec = new Recorder(undefined, () => now);
    const put = rec.invoke(1, 'm1', 'k', 'put', { value: 'v' });
    const get = rec.invoke(2, 'm2', 'k', 'get', {});
    now = 5;
    rec.ok(get, { value: null, modRevision: 0 }, 1);
    now = 9;
    rec.unknown(put, 'deadline exceeded');
    const w = rec.watchStart('m3', 'k', '', 1);
    rec.watchEvent(w, 'PUT', 'k', 'v', 2);
    rec.final('m1', 2, [{ key: 'k', value: 'v', modRevision: 2, lease: '0' }]);

    const h = rec.history();
    assert.deepEqual(h.ops.map((o) => [o.id, o.kind, o.outcome, o.invokeMs, o.completeMs]), [[0, 'put', 'unknown', 0, 9], [1, 'get', 'ok', 0, 5]]);
    assert.equal(h.watchers[0]!.events.length, 1);

    const dir = await mkdtemp(join(tmpdir(), 'keel-history-'));
    try {
      await writeJsonLines(join(dir, 'h.jsonl'), rec.all());
      assert.deepEqual(await readJsonLines(join(dir, 'h.jsonl')), rec.all());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
