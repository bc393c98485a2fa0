import { EtcdClient } from '../../src/client/etcd-client';

/**
 * A watcher in a process of its own, so a test can SIGSTOP it like a stuck client: it watches
 * [argv 3, argv 4) on the member at argv 2 and prints, after every response (the created reply
 * first), how many events it has seen and whether their revisions strictly increased.
 */
const [endpoint, key, rangeEnd] = process.argv.slice(2);
const client = new EtcdClient(endpoint!);
const stream = client.watchStream();
let seen = 0;
let lastRev = 0;
let ordered = true;
stream.on('data', (r: { events: Array<{ kv: { mod_revision: string } | null }> }) => {
  for (const e of r.events) {
    const rev = Number(e.kv?.mod_revision);
    if (rev <= lastRev) ordered = false;
    lastRev = rev;
    seen++;
  }
  process.stdout.write(`seen ${seen} ordered ${ordered} last ${lastRev}\n`);
});
stream.write({ create_request: { key: Buffer.from(key!), range_end: Buffer.from(rangeEnd!) } });
