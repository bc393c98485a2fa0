import { request } from 'node:http';
import { EtcdEndpoints } from '../../src/controlplane/apiserver/etcd-endpoints';
import { ApiServer } from '../../src/controlplane/apiserver/http-server';
import type { KubeObject } from '../../src/controlplane/kube-object';

/** An apiserver in this process on a loopback port, over the given etcd endpoints. */
export interface TestApiServer {
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(endpoints: string[]): Promise<TestApiServer> {
  const etcd = new EtcdEndpoints(endpoints);
  const server = new ApiServer(etcd);
  const address = await server.listen('127.0.0.1', 0);
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      await server.close();
      etcd.close();
    },
  };
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON, or the text when the answer is not JSON (health, metrics): tests read into it freely. */
  body: any;
}

/** One JSON request: the parsed answer (text when it is not JSON) and its status. */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, health): the text serves
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: parsed };
}

/** An open watch: the events received so far, and a way to end it early. */
export interface WatchStream {
  events: Array<{ type: string; object: KubeObject }>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** GETs a watch URL and collects its newline-delimited events as they arrive (and hands each to `onEvent`). */
export function openWatch(base: string, path: string, onEvent: (ev: { type: string; object: KubeObject }) => void = () => {}): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      const stream: WatchStream = {
        events: [],
        ended: new Promise((done) => res.once('close', () => done())),
        close: () => req.destroy(),
      };
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const ev = JSON.parse(pending.slice(0, nl));
          stream.events.push(ev);
          onEvent(ev);
          pending = pending.slice(nl + 1);
        }
      });
      res.on('error', () => {}); // closing early aborts the response; the events so far are what counts
      resolve(stream);
    });
    req.on('error', (err) => reject(err));
    req.end();
  });
}
