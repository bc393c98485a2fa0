import { ServiceError, status } from '@grpc/grpc-js';
import { EtcdClient } from '../../src/client/etcd-client';
import { SeededRand } from '../../src/util/rand';
import type { OpKind, Outcome, OutputOf, Pending, Recorder } from './history';
import { LIST_PREFIX } from './kv-models';

export interface WorkloadOptions {
  /** Concurrent KV clients; each runs one operation at a time, on a member it picks per operation. */
  clients: number;
  /** Register keys reg/0..; list keys list/0.. . Few keys, so clients contend on each. */
  registers: number;
  lists: number;
  /** Concurrent lease clients, each granting a lease, attaching one key to it, and ending it. */
  leaseClients: number;
  /** A call without an answer by then is recorded as unknown. */
  opTimeoutMs: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = { clients: 8, registers: 6, lists: 4, leaseClients: 2, opTimeoutMs: 3000 };

/** After an operation without an answer, a client waits this long: a down member is not hammered. */
const PAUSE_AFTER_ERROR_MS = 100;

/**
 * The operations of a chaos run, recorded into the history as they complete: per key a
 * compare-and-set register (get, put, delete, cas through a Txn) or an append-only list (get, then
 * append through a Txn comparing the mod_revision that get returned), and keys attached to leases
 * that are revoked, kept alive, or left to expire. Every value written is unique. Reads are
 * linearizable (not serializable), as the checkers assume.
 */
export class Workload {
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];
  private readonly clients = new Map<string, EtcdClient>();
  readonly counts: Record<Outcome, number> = { ok: 0, failed: 0, unknown: 0 };

  constructor(private readonly recorder: Recorder, endpoints: Map<string, string>, private readonly seed: number,
    private readonly opts: WorkloadOptions = DEFAULT_WORKLOAD) {
    for (const [name, endpoint] of endpoints) this.clients.set(name, new EtcdClient(endpoint, { commandTimeoutMs: opts.opTimeoutMs }));
  }

  start(): void {
    for (let c = 0; c < this.opts.clients; c++) this.loops.push(this.kvClient(c, new SeededRand(this.seed * 1000 + c)));
    for (let l = 0; l < this.opts.leaseClients; l++) {
      const client = this.opts.clients + l;
      this.loops.push(this.leaseClient(client, new SeededRand(this.seed * 1000 + client)));
    }
  }

  /** Stops issuing operations and waits for those in flight (bounded by the operation timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  /** Runs one recorded operation: ok with what `call` returned, else failed or unknown by its error (then null). */
  async run<K extends OpKind>(client: number, member: string, key: string, kind: K, input: Pending<K>['input'],
    call: (c: EtcdClient) => Promise<Answer<K>>): Promise<Answer<K> | null> {
    const p = this.recorder.invoke(client, member, key, kind, input);
    try {
      const answer = await call(this.clients.get(member)!);
      this.recorder.ok<K>(p, answer.output, answer.revision);
      this.counts.ok++;
      return answer;
    } catch (err) {
      const e = err as ServiceError;
      const text = `${e.code === undefined ? '' : `${status[e.code]}: `}${e.details ?? e.message}`;
      if (neverSent(e)) {
        this.recorder.failed(p, text);
        this.counts.failed++;
      } else {
        this.recorder.unknown(p, text);
        this.counts.unknown++;
      }
      await new Promise((r) => setTimeout(r, PAUSE_AFTER_ERROR_MS));
      return null;
    }
  }

  private members(): string[] {
    return [...this.clients.keys()];
  }

  private async kvClient(client: number, rand: SeededRand): Promise<void> {
    const members = this.members();
    let seq = 0;
    while (!this.stopped) {
      const member = members[rand.intn(members.length)]!;
      const value = `c${client}.${seq++}`;
      const dice = rand.intn(100);
      if (dice < 40) {
        const key = `${LIST_PREFIX}${rand.intn(this.opts.lists)}`;
        const seen = await this.get(client, member, key);
        if (dice < 30 && seen) await this.append(client, member, key, seen, value);
        continue;
      }
      const key = `reg/${rand.intn(this.opts.registers)}`;
      if (dice < 55) await this.get(client, member, key);
      else if (dice < 70) {
        await this.run(client, member, key, 'put', { value }, async (c) => ({ output: {}, revision: rev((await c.put({ key: b(key), value: b(value) })).header) }));
      } else if (dice < 75) {
        await this.run(client, member, key, 'delete', {}, async (c) => {
          const r = await c.deleteRange({ key: b(key) });
          return { output: { deleted: Number(r.deleted) }, revision: rev(r.header) };
        });
      } else {
        // Compare-and-set from what this client just read, so that many of them succeed.
        const seen = await this.get(client, member, key);
        if (seen) await this.cas(client, member, key, seen.value, value);
      }
    }
  }

  private async get(client: number, member: string, key: string): Promise<OutputOf<'get'> | null> {
    const answer = await this.run(client, member, key, 'get', {}, async (c) => {
      const r = await c.range({ key: b(key) });
      const kv = r.kvs[0];
      return { output: { value: kv ? kv.value.toString() : null, modRevision: kv ? Number(kv.mod_revision) : 0 }, revision: rev(r.header) };
    });
    return answer?.output ?? null;
  }

  private cas(client: number, member: string, key: string, expect: string | null, value: string): Promise<unknown> {
    return this.run(client, member, key, 'cas', { expect, value }, async (c) => {
      const r = await c.txn({
        compare: [expect === null
          ? { key: b(key), target: 'CREATE', result: 'EQUAL', create_revision: 0 }
          : { key: b(key), target: 'VALUE', result: 'EQUAL', value: b(expect) }],
        success: [{ request_put: { key: b(key), value: b(value) } }],
      });
      return { output: { succeeded: r.succeeded }, revision: rev(r.header) };
    });
  }

  /** Appends `item` if the list is still what `seen` read: its mod_revision (0 when absent) is unchanged. */
  private append(client: number, member: string, key: string, seen: OutputOf<'get'>, item: string): Promise<unknown> {
    return this.run(client, member, key, 'append', { basis: seen.value, item }, async (c) => {
      const r = await c.txn({
        compare: [{ key: b(key), target: 'MOD', result: 'EQUAL', mod_revision: seen.modRevision }],
        success: [{ request_put: { key: b(key), value: b(seen.value === null ? item : `${seen.value},${item}`) } }],
      });
      return { output: { succeeded: r.succeeded }, revision: rev(r.header) };
    });
  }

  /**
   * Grants a short lease, attaches one key of its own to it, then revokes it, keeps it alive a few
   * times and lets it expire, or lets it expire at once. The loop does not wait for expiries: many
   * leases are alive at a time.
   */
  private async leaseClient(client: number, rand: SeededRand): Promise<void> {
    const members = this.members();
    const pick = () => members[rand.intn(members.length)]!;
    let seq = 0;
    while (!this.stopped) {
      const ttlSec = 2 + rand.intn(3);
      const granted = await this.run(client, pick(), '', 'lease-grant', { ttlSec }, async (c) => {
        const r = await c.leaseGrant({ TTL: ttlSec });
        return { output: { lease: r.ID }, revision: rev(r.header) };
      });
      if (!granted) continue;
      const lease = granted.output.lease;
      const key = `lease/c${client}.${seq++}`;
      const put = await this.run(client, pick(), key, 'put', { value: key, lease }, async (c) => ({
        output: {}, revision: rev((await c.put({ key: b(key), value: b(key), lease })).header),
      }));
      if (!put) continue;
      const plan = rand.intn(3);
      if (plan === 0) {
        await this.run(client, pick(), '', 'lease-revoke', { lease }, async (c) => ({ output: {}, revision: rev((await c.leaseRevoke({ ID: lease })).header) }));
      } else if (plan === 1) {
        for (let i = 0; i < 3 && !this.stopped; i++) {
          const kept = await this.keepAlive(client, pick(), lease);
          if (kept === null || kept.output.ttlSec === 0) break;
        }
      }
    }
  }

  /**
   * One keep-alive round trip. It is answered by the leader from its lease table, not through the
   * log, so its header revision says nothing about order and is not recorded.
   */
  private keepAlive(client: number, member: string, lease: string): Promise<Answer<'lease-keepalive'> | null> {
    return this.run(client, member, '', 'lease-keepalive', { lease }, (c) => new Promise((resolve, reject) => {
      const stream = c.leaseKeepAliveStream();
      // Errors after the answer (the cancel below) find the promise settled and change nothing.
      stream.on('error', (err) => reject(err));
      const timer = setTimeout(() => {
        reject(new Error('no keep-alive answer in time'));
        stream.cancel();
      }, this.opts.opTimeoutMs);
      stream.once('data', (r: { TTL: string }) => {
        resolve({ output: { ttlSec: Number(r.TTL) }, revision: undefined });
        clearTimeout(timer);
        stream.cancel();
      });
      stream.write({ ID: lease });
    }));
  }
}

/** What a call answered, and its header revision if that orders it. */
export interface Answer<K extends OpKind> {
  output: OutputOf<K>;
  revision: number | undefined;
}

/**
 * The request certainly did not reach a server: grpc-js fails a call that way when it has no
 * connection to send it on. Anything else may have been applied.
 */
function neverSent(e: ServiceError): boolean {
  return e.code === status.UNAVAILABLE && /^No connection established/.test(e.details ?? '');
}

export const b = (s: string): Buffer => Buffer.from(s);

export const rev = (header: { revision: string } | null): number | undefined => (header === null ? undefined : Number(header.revision));
