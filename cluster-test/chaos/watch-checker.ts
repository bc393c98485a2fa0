import type { History, WatchStart } from './history';
import { attemptedValues, writeOf } from './writes';

/**
 * Watch streams against each other and against the acknowledged writes. On every watcher: events
 * in revision order, none twice, none before its start revision, none with a value nobody wrote.
 * Across watchers: the same event at the same revision everywhere. And no gaps: every event that
 * some watcher saw or some acknowledged write made, from the watcher's start revision up to the
 * revision it is known to be complete to, is in its stream; so a watcher resumed from a revision
 * gets exactly the history from there.
 */
export function checkWatches(h: History): string[] {
  const problems: string[] = [];
  /** "revision key" → the event, and who reported it first. */
  const reference = new Map<string, { revision: number; key: string; kind: string; value: string; source: string }>();
  const note = (revision: number, key: string, kind: string, value: string, source: string) => {
    const id = `${revision} ${key}`;
    const known = reference.get(id);
    if (!known) reference.set(id, { revision, key, kind, value, source });
    else if (known.kind !== kind || known.value !== value) {
      problems.push(`at revision ${revision} ${key} is ${known.kind} ${JSON.stringify(known.value)} for ${known.source} but ${kind} ${JSON.stringify(value)} for ${source}`);
    }
  };
  for (const op of h.ops) {
    const w = writeOf(op);
    if (w && op.revision !== undefined) note(op.revision, w.key, w.kind, w.value, `op ${op.id}`);
  }
  const attempted = attemptedValues(h.ops);
  for (const w of h.watchers) {
    const name = watcherName(w.start);
    let last = 0;
    const seen = new Set<string>();
    for (const e of w.events) {
      const id = `${e.revision} ${e.key}`;
      if (e.revision < last) problems.push(`${name}: ${e.kind} ${e.key} at revision ${e.revision} arrived after revision ${last}`);
      if (seen.has(id)) problems.push(`${name}: ${e.kind} ${e.key} at revision ${e.revision} arrived twice`);
      if (e.revision < w.start.startRevision) problems.push(`${name}: ${e.key} at revision ${e.revision}, before its start revision`);
      if (e.kind === 'PUT' && !attempted.get(e.key)?.has(e.value)) {
        problems.push(`${name}: PUT ${e.key}=${JSON.stringify(e.value)} at revision ${e.revision}, a value nobody wrote`);
      }
      seen.add(id);
      last = Math.max(last, e.revision);
      note(e.revision, e.key, e.kind, e.value, name);
    }
  }
  for (const w of h.watchers) {
    const upTo = w.end?.upToRevision ?? Math.max(0, ...w.events.map((e) => e.revision));
    const got = new Set(w.events.map((e) => `${e.revision} ${e.key}`));
    for (const [id, ev] of reference) {
      if (ev.revision >= w.start.startRevision && ev.revision <= upTo && covers(w.start, ev.key) && !got.has(id)) {
        problems.push(`${watcherName(w.start)}: missed ${ev.kind} ${ev.key} at revision ${ev.revision} (seen by ${ev.source}), complete up to ${upTo}`);
      }
    }
  }
  return problems;
}

function watcherName(s: WatchStart): string {
  return `watcher ${s.watcher} on ${s.member} from revision ${s.startRevision}`;
}

/** etcd's range rule: range_end '' is the key alone, '\0' every key from `key` on. */
export function covers(s: WatchStart, key: string): boolean {
  if (s.rangeEnd === '') return key === s.key;
  return key >= s.key && (s.rangeEnd === '\u0000' || key < s.rangeEnd);
}
