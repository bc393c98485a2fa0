import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeObject } from '../kube-object';
import { KubeApiError } from './kube-api-error';

export interface KubeClientOptions {
  /** Bearer token sent with every request (`Authorization: Bearer …`). */
  token?: string;
  /** PEM: the CA that signed the apiservers' certificates, and this client's own certificate and key. */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** How long a request may take before it fails and the next apiserver is tried; for a watch, how long until it is accepted. */
  requestTimeoutMs?: number;
  /**
   * Each watch asks the apiserver to end it after a random time from this many seconds up to twice
   * as many (client-go: 5 to 10 minutes), so watches are spread over the apiservers again; one
   * silent for longer than that means a frozen apiserver, and is ended so the next one is tried.
   */
  minWatchTimeoutSeconds?: number;
  /** Who is calling, for the apiserver's logs and audit (`User-Agent`). */
  userAgent?: string;
}

export interface KubeList {
  items: KubeObject[];
  resourceVersion: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/** An open watch: `ended` resolves when the server or the network ends it, or after `close()`. */
export interface KubeWatch {
  ended: Promise<void>;
  close(): void;
}

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** Errors that mean the request never got an answer from that apiserver, so another one may be asked. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED']);

function unreachable(err: unknown): boolean {
  return UNREACHABLE.has((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * A JSON client of the Kubernetes REST API over a list of apiservers. Requests go to one apiserver
 * at a time; one that cannot be reached is left for the next in the list and the request is tried
 * there, so a lost apiserver costs one failed attempt, the way a node-local proxy in front of the
 * apiservers behaves. An answer, even an error, never moves on: every apiserver shares one store.
 */
export class KubeClient {
  private current = 0;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly requestTimeoutMs: number;
  private readonly minWatchTimeoutSeconds: number;

  constructor(
    private readonly servers: string[],
    private readonly options: KubeClientOptions = {},
  ) {
    if (servers.length === 0) throw new Error('at least one apiserver URL is needed');
    for (const s of servers) new URL(s); // a malformed URL fails here, not on the first request
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.minWatchTimeoutSeconds = options.minWatchTimeoutSeconds ?? 300;
    this.agents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true, ca: options.ca, cert: options.cert, key: options.key }),
    };
  }

  /** The apiserver requests go to now. */
  get server(): string {
    return this.servers[this.current]!;
  }

  async get(path: string): Promise<KubeObject> {
    return JSON.parse(await this.request('GET', path));
  }

  async list(path: string, query: Record<string, string> = {}): Promise<KubeList> {
    const list = JSON.parse(await this.request('GET', withQuery(path, query)));
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '0' };
  }

  async create(path: string, object: KubeObject): Promise<KubeObject> {
    return JSON.parse(await this.request('POST', path, JSON.stringify(object)));
  }

  /** PUT: replaces the object; with `metadata.resourceVersion` set it fails with 409 if someone wrote first. */
  async update(path: string, object: KubeObject): Promise<KubeObject> {
    return JSON.parse(await this.request('PUT', path, JSON.stringify(object)));
  }

  async patch(path: string, patch: unknown, type: PatchType = 'merge'): Promise<KubeObject> {
    return JSON.parse(await this.request('PATCH', path, JSON.stringify(patch), PATCH_CONTENT_TYPES[type]));
  }

  /** DELETE with optional DeleteOptions (preconditions, propagationPolicy, gracePeriodSeconds). */
  async delete(path: string, options?: Record<string, unknown>): Promise<KubeObject> {
    return JSON.parse(await this.request('DELETE', path, options === undefined ? undefined : JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', ...options })));
  }

  /**
   * Opens `?watch=true` on a collection from `resourceVersion` and hands each event to `onEvent`
   * in order. Resolves once the apiserver has accepted the watch; a 410 or other refusal rejects.
   */
  async watch(path: string, query: Record<string, string>, onEvent: (ev: WatchEvent) => void): Promise<KubeWatch> {
    const timeoutSeconds = query.timeoutSeconds ?? String(Math.floor(this.minWatchTimeoutSeconds * (1 + Math.random())));
    const url = withQuery(path, { ...query, timeoutSeconds, watch: 'true' });
    // The apiserver ends the watch at its timeout; silence well past that is an apiserver that froze.
    const silenceMs = Number(timeoutSeconds) * 1000 + this.requestTimeoutMs;
    for (let tried = 1; ; tried++) {
      const server = this.server;
      try {
        return await this.openWatch(server, url, silenceMs, onEvent);
      } catch (err) {
        if (!unreachable(err) || tried >= this.servers.length) throw err;
        this.failedOver(server);
      }
    }
  }

  /** Ends keep-alive connections so the process can exit. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<string> {
    for (let tried = 1; ; tried++) {
      const server = this.server;
      try {
        return await this.requestOnce(server, method, path, body, contentType);
      } catch (err) {
        if (!unreachable(err) || tried >= this.servers.length) throw err;
        this.failedOver(server);
      }
    }
  }

  private failedOver(server: string): void {
    if (this.server === server) this.current = (this.current + 1) % this.servers.length;
  }

  private send(server: string, method: string, path: string, headers: Record<string, string>, timeoutMs: number): http.ClientRequest {
    const url = new URL(path, server);
    const secure = url.protocol === 'https:';
    const all: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.options.userAgent ?? 'keel-controlplane', ...headers };
    if (this.options.token !== undefined) all.Authorization = `Bearer ${this.options.token}`;
    const req = (secure ? https : http).request(url, { method, headers: all, agent: secure ? this.agents.https : this.agents.http });
    if (timeoutMs > 0) {
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`${method} ${url.pathname}: no answer from ${server} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    }
    return req;
  }

  private requestOnce(server: string, method: string, path: string, body: string | undefined, contentType: string): Promise<string> {
    return new Promise((resolve, reject) => {
      // Node frames a body without Content-Length only by chunking, and it does not chunk a DELETE:
      // the DeleteOptions would reach the apiserver as the start of a second, garbled request.
      const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)) };
      const req = this.send(server, method, path, headers, this.requestTimeoutMs);
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(text);
          else reject(KubeApiError.fromAnswer(code, text));
        });
      });
      req.end(body);
    });
  }

  private openWatch(server: string, path: string, silenceMs: number, onEvent: (ev: WatchEvent) => void): Promise<KubeWatch> {
    return new Promise((resolve, reject) => {
      const req = this.send(server, 'GET', path, {}, this.requestTimeoutMs);
      let accepted = false;
      req.on('error', (err) => {
        if (!accepted) reject(err);
        else if (unreachable(err)) this.failedOver(server); // the watch ends; the caller's next one goes elsewhere
      });
      req.on('response', (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(KubeApiError.fromAnswer(code, Buffer.concat(chunks).toString('utf8'))));
          res.on('error', reject);
          return;
        }
        accepted = true;
        req.setTimeout(silenceMs);
        const ended = new Promise<void>((done) => res.once('close', () => done()));
        res.on('error', () => {}); // a broken stream just ends the watch; the caller resumes from its last revision
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            if (line.trim() !== '') onEvent(JSON.parse(line) as WatchEvent);
          }
        });
        resolve({ ended, close: () => req.destroy() });
      });
      req.end();
    });
  }
}

function withQuery(path: string, query: Record<string, string>): string {
  const q = new URLSearchParams(query).toString();
  return q === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${q}`;
}
