import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from './registry';
import { groupVersion } from './resources';
import { listOptions } from './rest-handlers';
import type { ResourceRoute } from './routes';
import type { KubeObject } from '../kube-object';
import { badRequest, type ApiError } from './status-error';
import { table, wantsTable } from './tables';
import type { StoreEvent, WatchHubs } from './watch-hub';

/** A watch without timeoutSeconds still ends, as the real apiserver's do (its minimum request timeout). */
const DEFAULT_TIMEOUT_SECONDS = 1800;

/**
 * `?watch=true`: newline-delimited `{type, object}` events, chunked, from the resource's shared
 * store watch. Without a resourceVersion (or with "0") it starts with ADDED for what exists now.
 * Selectors apply to each side of a change, so an object that stops matching leaves as DELETED and
 * one that starts matching arrives as ADDED. Ends after timeoutSeconds (with a BOOKMARK first if
 * asked for), when the client goes, or with an ERROR event (410 when the start was compacted).
 */
export async function serveWatch(
  req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams, registry: Registry, hubs: WatchHubs,
): Promise<void> {
  const r = route.resource;
  const opts = listOptions(route, query);
  // GET …/pods/<name>?watch=true (the old single-object form) watches that object only.
  const match = (o: KubeObject) => (route.namespace === undefined || o.metadata.namespace === route.namespace)
    && (route.name === undefined || o.metadata.name === route.name) && opts.match!(o);
  const rvParam = query.get('resourceVersion') ?? '';
  if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resourceVersion ${JSON.stringify(rvParam)}`);
  const asTable = wantsTable(req.headers.accept);
  const includeObject = query.get('includeObject') ?? undefined;
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? DEFAULT_TIMEOUT_SECONDS);
  const bookmarks = query.get('allowWatchBookmarks') === 'true';

  let from: bigint;
  let initial: KubeObject[] = [];
  if (rvParam === '' || rvParam === '0') {
    const { limit: _limit, continue: _continue, ...all } = opts;
    const list = await registry.list(r, all);
    initial = list.items.filter(match); // the list reads the namespace; the name is this watch's own
    from = BigInt(list.resourceVersion);
  } else {
    from = BigInt(rvParam);
  }

  res.writeHead(200, { 'Content-Type': asTable ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : 'application/json', 'Cache-Control': 'no-cache' });
  res.flushHeaders(); // the client learns the watch is on before any event
  let first = true;
  let lastRev = from;
  const send = (type: string, object: KubeObject) => {
    const body = asTable && type !== 'ERROR' && type !== 'BOOKMARK'
      ? table(r, [object], { resourceVersion: object.metadata.resourceVersion }, includeObject, first)
      : object;
    first = false;
    res.write(`${JSON.stringify({ type, object: body })}\n`);
  };
  for (const o of initial) send('ADDED', o);

  let unsubscribe: () => void = () => {};
  const finish = () => {
    clearTimeout(timer);
    unsubscribe();
    res.end();
  };
  const timer = setTimeout(() => {
    if (bookmarks) send('BOOKMARK', { kind: r.kind, apiVersion: groupVersion(r), metadata: { resourceVersion: lastRev.toString() } });
    finish();
  }, timeoutSeconds * 1000);
  req.on('close', finish);
  unsubscribe = hubs.forPrefix(registry.keyPrefix(r)).subscribe(from, {
    events: (evs: StoreEvent[]) => {
      for (const ev of evs) {
        const now = ev.type !== 'DELETED' && match(ev.object);
        const before = ev.type !== 'ADDED' && ev.previous !== undefined && match(ev.previous);
        if (now && before) send('MODIFIED', ev.object);
        else if (now) send('ADDED', ev.object);
        // One that stops matching leaves as it was when it last matched, at the change's
        // resourceVersion, as kube's cache watcher sends it.
        else if (before) send('DELETED', ev.type === 'DELETED' ? ev.object : { ...ev.previous!, metadata: { ...ev.previous!.metadata, resourceVersion: ev.object.metadata.resourceVersion } });
        lastRev = ev.revision;
      }
    },
    failed: (err: ApiError) => {
      send('ERROR', err.toStatus());
      finish();
    },
  });
}
