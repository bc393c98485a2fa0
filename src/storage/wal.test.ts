import assert from 'node:assert/strict';
import { constants, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger, silentLogger } from '../util/logger';
import { Wal } from './wal';

/** Small segments, so a few frames fill one. */
const SEGMENT = 4096;

describe('Wal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-wal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const frameOf = (text: string) => Wal.frame(Buffer.byteLength(text), (record) => void record.write(text));
  const segments = () => readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();

  /** Opens the log, returning it and its frames as strings. */
  function open(head: () => Buffer[] = () => [], log = silentLogger): { wal: Wal; frames: string[] } {
    const { wal, frames } = Wal.open(dir, head, log, { segmentBytes: SEGMENT });
    return { wal, frames: frames.map((f) => f.toString()) };
  }

  /** Appends one frame per record, the first for entry `index`, synced. */
  function append(wal: Wal, index: number, ...texts: string[]): void {
    wal.append(texts.map(frameOf), index, 'here');
  }

  it('reads back what was appended, in order, across segments each beginning with the head frames', async () => {
    const first = open(() => [frameOf('head')]);
    const written: string[] = [];
    for (let i = 1; i <= 40; i++) {
      const text = `entry ${i} `.padEnd(300, '.');
      append(first.wal, i, text);
      written.push(text);
    }
    await first.wal.close();
    assert.ok(segments().length >= 3, `segments: ${segments().join(', ')}`);
    for (const name of segments()) assert.equal(statSync(join(dir, name)).size, SEGMENT, `${name} is preallocated`);
    const { wal, frames } = open();
    await wal.close();
    assert.deepEqual(frames.filter((f) => f !== 'head'), written);
    assert.equal(frames.filter((f) => f === 'head').length, segments().length - 1, 'every cut segment begins with the head frames');
  });

  it('writes each append synced (O_DSYNC), in the thread pool when asked, one append at a time', async () => {
    const { wal } = open();
    const synced = wal.append([frameOf('pooled')], 1, 'in-background');
    assert.ok(synced instanceof Promise);
    assert.throws(() => wal.append([frameOf('too soon')], 2, 'here'), /previous one is being written/);
    await synced;
    assert.ok(openSegmentFlags().some((flags) => (flags & constants.O_DSYNC) !== 0), 'the segment written to is opened O_DSYNC');
    assert.equal(wal.append([frameOf('here')], 2, 'here'), undefined);
    await wal.close();
    const reopened = open();
    await reopened.wal.close();
    assert.deepEqual(reopened.frames, ['pooled', 'here']);
  });

  /** The open flags of this process's descriptors on a segment of the log (Linux's /proc). */
  function openSegmentFlags(): number[] {
    return readdirSync('/proc/self/fd').flatMap((fd) => {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return []; // the descriptor readdir itself used
      }
      if (!target.startsWith(dir) || !target.endsWith('.wal')) return [];
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!;
      return [parseInt(flags, 8)];
    });
  }

  it('names a segment by the first index it holds and releases those whose entries are all at or below an index', async () => {
    const { wal } = open();
    for (let i = 1; i <= 40; i++) append(wal, i, 'x'.repeat(500));
    const starts = segments().map((n) => parseInt(n.slice(17, 33), 16));
    assert.equal(starts[0], 1);
    assert.ok(starts.every((s, i) => i === 0 || s > starts[i - 1]!), `starts: ${starts.join(', ')}`);
    await wal.release(starts[2]! - 2); // the second segment still holds index starts[2] - 1
    assert.equal(segments().length, starts.length - 1);
    await wal.release(1_000);
    assert.equal(segments().length, 1, 'the segment being written stays');
    append(wal, 41, 'after');
    await wal.close();
    const reopened = open();
    await reopened.wal.close();
    assert.equal(reopened.frames[reopened.frames.length - 1], 'after');
  });

  it('deletes unread, at open, the segments holding only entries below what is needed', async () => {
    const first = open();
    for (let i = 1; i <= 40; i++) append(first.wal, i, `entry ${i} `.padEnd(500, '.'));
    await first.wal.close();
    const starts = segments().map((n) => parseInt(n.slice(17, 33), 16));
    assert.ok(starts.length >= 4, `segments: ${segments().join(', ')}`);
    const { wal, frames } = Wal.open(dir, () => [], silentLogger, { segmentBytes: SEGMENT, neededFrom: starts[2]! });
    await wal.close();
    assert.equal(segments().length, starts.length - 2);
    assert.ok(frames[0]!.toString().startsWith(`entry ${starts[2]!} `), 'the log read back begins where the needed entry is');
  });

  it('gives a frame larger than a segment a segment of its own size', async () => {
    const { wal } = open();
    append(wal, 1, 'small');
    const large = 'L'.repeat(3 * SEGMENT);
    append(wal, 2, large);
    append(wal, 3, 'next');
    await wal.close();
    const reopened = open();
    await reopened.wal.close();
    assert.deepEqual(reopened.frames, ['small', large, 'next']);
  });

  it('cuts off a write torn by a crash at the end of the last segment and goes on after the last whole frame', async () => {
    const first = open();
    append(first.wal, 1, 'kept');
    append(first.wal, 2, 'T'.repeat(1500));
    await first.wal.close();
    // The crash wrote the torn frame's head and first sector only.
    const path = join(dir, segments()[0]!);
    const bytes = readFileSync(path);
    const tornAt = 8 + 4;
    bytes.fill(0, tornAt + 8 + 512, tornAt + 8 + 1500);
    writeFileSync(path, bytes);
    const log = recordingLogger();
    const second = open(() => [], log);
    assert.deepEqual(second.frames, ['kept']);
    assert.ok(log.lines.some((l) => l.includes('torn write')), log.lines.join('\n'));
    append(second.wal, 2, 'written again');
    await second.wal.close();
    const third = open();
    await third.wal.close();
    assert.deepEqual(third.frames, ['kept', 'written again']);
  });

  it('zeroes what a torn write left after its lost first sector, so that no later write brings it back', async () => {
    const sized = (tag: string, bytes: number) => Wal.frame(bytes - 8, (record) => void record.fill(0x20).write(tag));
    const first = open();
    first.wal.append([sized('acked', 512)], 1, 'here');
    first.wal.append([sized('torn', 1024), sized('torn too', 512)], 2, 'here');
    await first.wal.close();
    // The crash lost the torn write's first sector, the head of its first frame; the rest landed.
    const path = join(dir, segments()[0]!);
    const bytes = readFileSync(path);
    bytes.fill(0, 512, 1024);
    writeFileSync(path, bytes);
    const log = recordingLogger();
    const second = open(() => [], log);
    assert.deepEqual(second.frames.map((f) => f.trim()), ['acked']);
    assert.ok(log.lines.some((l) => l.includes('torn write')), log.lines.join('\n'));
    assert.ok(readFileSync(path).subarray(512).every((b) => b === 0), 'the torn write\'s remains are zeroed');
    // A write ending where a leftover frame began would have made it readable again.
    second.wal.append([sized('after', 1024)], 2, 'here');
    await second.wal.close();
    const third = open();
    await third.wal.close();
    assert.deepEqual(third.frames.map((f) => f.trim()), ['acked', 'after']);
  });

  it('refuses to open a log with a damaged frame that is not a torn end', async () => {
    const { wal } = open();
    append(wal, 1, 'one');
    append(wal, 2, 'two');
    append(wal, 3, 'three');
    await wal.close();
    const path = join(dir, segments()[0]!);
    const bytes = readFileSync(path);
    bytes[19] = bytes[19]! ^ 0xff; // the second frame's first payload byte (after 'one' and a frame head)
    writeFileSync(path, bytes);
    assert.throws(() => open(), /wal: damaged record in .* at offset 11/);
  });

  it('refuses a damaged frame in a segment before the last, whatever it looks like', async () => {
    const first = open();
    for (let i = 1; i <= 20; i++) append(first.wal, i, 'y'.repeat(500));
    await first.wal.close();
    assert.ok(segments().length >= 2);
    const path = join(dir, segments()[0]!);
    const bytes = readFileSync(path);
    bytes.fill(0, 8 + 100, 8 + 500); // the first frame loses its tail, as a torn write would leave it
    writeFileSync(path, bytes);
    assert.throws(() => open(), /wal: damaged record/);
  });
});
