import { randomBytes, randomInt } from 'node:crypto';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { EtcdClient } from '../src/client/etcd-client';
import type { LeaseKeepAliveRequest } from '../src/generated/etcdserverpb/LeaseKeepAliveRequest';
import type { LeaseKeepAliveResponse__Output } from '../src/generated/etcdserverpb/LeaseKeepAliveResponse';
import type { Row } from './rows';

/** The one key the range rows read; written once before any row runs. */
export const RANGE_KEY = Buffer.from('bench/range-key');
/**
 * TTL of the keep-alive row's leases, in seconds: long enough that none expires while a row runs
 * (each is renewed many times a second) and short enough that they are gone soon after.
 */
const KEEPALIVE_TTL_SECONDS = 60;

/** One request from client `clientIndex` on `client`; rejects if the server answers wrongly. */
export type Op = (client: EtcdClient, clientIndex: number) => Promise<unknown>;

/** A row's request, and what it holds open between requests (keep-alive streams) to let go of after the row. */
export interface LoadOp {
  run: Op;
  close(): void;
}

/** What the put and txn rows write, as etcd's benchmark asks it: --key-size, --key-space, --sequential-keys, --value-size. */
export interface WorkloadOptions {
  valueBytes: number;
  /** Every key is exactly this long: its index in the key space, zero-padded in decimal. */
  keyBytes: number;
  /** Distinct keys the writes go to. */
  keySpace: number;
  /** Keys in order 0, 1, 2, … (wrapping); otherwise each request picks one at random. */
  sequential: boolean;
}

/** The data every row of one run shares: the same keys and value for keel and for etcd. */
export interface Workload {
  options: WorkloadOptions;
  value: Buffer;
}

/** Checks the options can be met; the message is for the command line. */
export function workloadOptionsError(o: WorkloadOptions): string | undefined {
  const digits = String(o.keySpace - 1).length;
  if (digits > o.keyBytes) return `--key-size ${o.keyBytes} cannot hold ${o.keySpace} distinct keys; use at least ${digits}`;
  return undefined;
}

export function makeWorkload(options: WorkloadOptions): Workload {
  return { options, value: randomBytes(options.valueBytes) };
}

/** Key number `index` of the key space, e.g. 00000042 with --key-size 8. */
export function keyOf(workload: Workload, index: number): Buffer {
  return Buffer.from(String(index).padStart(workload.options.keyBytes, '0'));
}

/** Writes the key the range rows read and checks it reads back, so a range row measures a real hit. */
export async function prepareTarget(client: EtcdClient, workload: Workload): Promise<void> {
  await client.put({ key: RANGE_KEY, value: workload.value });
  const res = await client.range({ key: RANGE_KEY });
  if (res.kvs.length !== 1) throw new Error(`range of ${RANGE_KEY} after put returned ${res.kvs.length} keys`);
}

export function makeOp(row: Row, workload: Workload): LoadOp {
  const { keySpace, sequential } = workload.options;
  const { value } = workload;
  let next = 0;
  const nextKeyIndex = sequential ? () => next++ % keySpace : () => randomInt(keySpace);
  const put: Op = (client) => client.put({ key: keyOf(workload, nextKeyIndex()), value });
  const req = { key: RANGE_KEY, serializable: row.serializable };
  const range: Op = async (client) => {
    const res = await client.range(req);
    // A fast empty answer must not pass as a read.
    if (res.kvs.length !== 1) throw new Error(`range returned ${res.kvs.length} keys, want 1`);
  };
  const stateless = (run: Op): LoadOp => ({ run, close: () => undefined });
  switch (row.op) {
    case 'put': return stateless(put);
    case 'range': return stateless(range);
    case 'mixed': {
      let count = 0;
      return stateless((client, i) => (count++ % 10 === 9 ? put(client, i) : range(client, i)));
    }
    case 'txn-put': {
      // Each key's mod_revision as this process last saw it: a txn that lost a race reads it again.
      const seen = new Map<number, string>();
      return stateless(async (client) => {
        const i = nextKeyIndex();
        const key = keyOf(workload, i);
        const res = await client.txn({
          compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: seen.get(i) ?? '0' }],
          success: [{ request_put: { key, value } }],
          failure: [{ request_range: { key } }],
        });
        const rev = res.succeeded ? res.header!.revision : res.responses[0]?.response_range?.kvs[0]?.mod_revision ?? '0';
        seen.set(i, rev);
      });
    }
    case 'lease-keepalive': return keepAliveOp();
  }
}

/**
 * Each client grants a lease of its own on first use and then renews it over a LeaseKeepAlive
 * stream of its own, one renewal in flight: the closed loop of etcd's `benchmark lease-keepalive`
 * (which renews with KeepAliveOnce), minus the cost of opening a stream per request.
 */
function keepAliveOp(): LoadOp {
  const loops = new Map<number, Promise<KeepAliveLoop>>();
  return {
    run: async (client, clientIndex) => {
      let loop = loops.get(clientIndex);
      if (loop === undefined) {
        loop = KeepAliveLoop.open(client);
        loops.set(clientIndex, loop);
      }
      await (await loop).renew();
    },
    close: () => {
      for (const loop of loops.values()) void loop.then((l) => l.close(), () => undefined);
    },
  };
}

class KeepAliveLoop {
  private waiting: { resolve: () => void; reject: (err: Error) => void } | undefined;

  private constructor(
    private readonly stream: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output>,
    private readonly id: string,
  ) {
    stream.on('data', (res: LeaseKeepAliveResponse__Output) => {
      const waiting = this.take();
      // TTL 0 is the server saying the lease is gone: a renewal that did not renew.
      if (Number(res.TTL) > 0) waiting?.resolve();
      else waiting?.reject(new Error(`lease ${id} is gone (keep-alive answered TTL ${res.TTL})`));
    });
    stream.on('error', (err: Error) => this.take()?.reject(err));
  }

  static async open(client: EtcdClient): Promise<KeepAliveLoop> {
    const { ID } = await client.leaseGrant({ TTL: KEEPALIVE_TTL_SECONDS });
    return new KeepAliveLoop(client.leaseKeepAliveStream(), ID);
  }

  renew(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.stream.write({ ID: this.id });
    });
  }

  close(): void {
    this.stream.end();
    this.stream.cancel();
  }

  private take() {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting;
  }
}
