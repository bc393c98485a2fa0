import type { ServiceError } from '@grpc/grpc-js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { authenticate, type AuthnOptions } from './authn';
import { alwaysAllow, builtIn, chain, forbidden, type Authorizer, type RequestAttributes } from './authz';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openApiDocument, openApiRoot, VERSION } from './discovery';
import type { EtcdEndpoints } from './etcd-endpoints';
import { ApiMetrics } from './metrics';
import { Registry } from './registry';
import { RESOURCES } from './resources';
import { fieldValidation, RestHandlers, type Reply } from './rest-handlers';
import { parseResourcePath, type ResourceRoute } from './routes';
import type { KubeObject } from '../kube-object';
import { ApiError, badRequest } from './status-error';
import { table, wantsTable } from './tables';
import { serveWatch } from './watch-handler';
import { servePodLog } from './pod-log';
import { WatchHubs } from './watch-hub';

/** Bodies larger than this are refused, as kube-apiserver refuses requests over 3 MiB. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** How many times (200 ms apart) start-up waits for an unavailable store: a minute. */
const STORE_WAIT_ATTEMPTS = 300;

/** The namespaces a cluster always has; every replica makes sure of them at start. */
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const VERB_OF_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export interface ApiServerOptions {
  /** Serve HTTPS with this certificate and key (PEM); with `clientCa`, verify client certificates against it. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  /** Default: anonymous requests allowed, no tokens. */
  authn?: AuthnOptions;
  /** Authorizers after the built-in ones (system:masters, health, discovery); default: allow everything. */
  authorizers?: Authorizer[];
}

/**
 * A stateless Kubernetes-shaped apiserver over an etcd (Keel or the real one): discovery, OpenAPI,
 * health, metrics and the REST verbs of RESOURCES. Several replicas can serve one store side by side.
 * Every request is authenticated, then authorized, then served.
 */
export class ApiServer {
  private readonly server: Server;
  private readonly registry: Registry;
  private readonly hubs: WatchHubs;
  private readonly rest: RestHandlers;
  private readonly authn: AuthnOptions;
  private readonly authorizer: Authorizer;
  readonly metrics = new ApiMetrics();

  constructor(private readonly etcd: EtcdEndpoints, options: ApiServerOptions = {}) {
    this.registry = new Registry(etcd);
    this.hubs = new WatchHubs(etcd);
    this.rest = new RestHandlers(this.registry);
    this.authn = options.authn ?? { anonymous: true };
    this.authorizer = chain([builtIn, ...(options.authorizers ?? [alwaysAllow])]);
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const tls = options.tls;
    // Client certificates are asked for but not required: a request may carry a token instead.
    this.server = tls === undefined ? createServer(handler)
      : createTlsServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}) }, handler);
  }

  /** Listens on host:port (port 0: any free one) once the system namespaces exist; resolves with the address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const namespaces = RESOURCES.find((r) => r.name === 'namespaces')!;
    for (const name of SYSTEM_NAMESPACES) {
      // A store that is still electing its leader (a cluster starting together) is waited for.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.rest.create({ resource: namespaces }, { metadata: { name } });
          break;
        } catch (err) {
          if (err instanceof ApiError && err.reason === 'AlreadyExists') break;
          const code = (err as ServiceError).code;
          if ((code !== 14 && code !== 4) || attempt >= STORE_WAIT_ATTEMPTS) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(port, host, () => resolve()));
    return this.server.address() as AddressInfo;
  }

  /** Stops listening and ends every open watch. */
  async close(): Promise<void> {
    this.hubs.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = parseResourcePath(url.pathname);
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = req.method === 'GET' ? (watching ? 'watch' : route?.name === undefined ? 'list' : 'get') : VERB_OF_METHOD[req.method ?? ''] ?? 'other';
    res.on('finish', () => this.metrics.observe(verb, route?.resource.name ?? '', route?.subresource ?? '', res.statusCode,
      Number(process.hrtime.bigint() - started) / 1e9));
    try {
      const user = authenticate(req, this.authn);
      const body = route !== undefined && req.method !== 'GET' ? await readJson(req, req.method === 'DELETE') : undefined;
      const attrs: RequestAttributes = {
        user, verb: route === undefined ? (req.method ?? 'get').toLowerCase() : verb, path: url.pathname, body,
        ...(route === undefined ? {} : {
          resource: { apiGroup: route.resource.group, resource: route.resource.name, subresource: route.subresource ?? '', namespace: route.namespace ?? '', name: route.name ?? '' },
        }),
        current: () => (route?.name === undefined ? Promise.resolve(undefined)
          : this.registry.get(route.resource, route.namespace, route.name).catch((err) => (err instanceof ApiError && err.code === 404 ? undefined : Promise.reject(err)))),
      };
      const decision = await this.authorizer.authorize(attrs);
      if (decision.decision !== 'allow') throw forbidden(attrs, decision.decision === 'deny' ? decision.reason : '');
      if (route === undefined) return await this.serveNonResource(req, res, url);
      if (watching && req.method === 'GET') return await serveWatch(req, res, route, url.searchParams, this.registry, this.hubs);
      if (route.subresource === 'log' && req.method === 'GET') return await servePodLog(req, res, route, url.searchParams, this.registry);
      const reply = await this.serveResource(req, route, url.searchParams, body);
      this.sendObject(req, res, route, url.searchParams, reply);
    } catch (err) {
      this.sendError(res, err);
    }
  }

  /** Serves a request on a resource; `body` is the request's JSON, read before authorization. */
  private async serveResource(req: IncomingMessage, route: ResourceRoute, query: URLSearchParams, body: KubeObject | undefined): Promise<Reply> {
    switch (req.method) {
      case 'GET': return route.name === undefined ? this.rest.list(route, query) : this.rest.get(route);
      case 'POST': return this.rest.create(route, body!, fieldValidation(query));
      case 'PUT': return this.rest.update(route, body!, fieldValidation(query));
      case 'PATCH': return this.rest.patch(route, req.headers['content-type'] ?? '', body!, fieldValidation(query));
      case 'DELETE': return this.rest.delete(route, body ?? {});
      default: throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private sendObject(req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams, reply: Reply): void {
    const body = reply.body;
    // RFC 7234 warning code 299 ("miscellaneous persistent warning"), as kube-apiserver sends them.
    if (reply.warnings?.length) res.setHeader('Warning', reply.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
    if (req.method === 'GET' && wantsTable(req.headers.accept) && route.subresource === undefined) {
      const includeObject = query.get('includeObject') ?? undefined;
      const rendered = route.name === undefined
        ? table(route.resource, body.items, body.metadata, includeObject)
        : table(route.resource, [body], { resourceVersion: body.metadata.resourceVersion }, includeObject);
      return send(res, reply.code, rendered, 'application/json;as=Table;v=v1;g=meta.k8s.io');
    }
    send(res, reply.code, body);
  }

  private async serveNonResource(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const parts = path.split('/').filter((p) => p !== '');
    let body: object | undefined;
    if (path === '/version') body = VERSION;
    else if (path === '/api') body = apiVersions(req.headers.host ?? '');
    else if (path === '/apis') body = apiGroupList();
    else if (path === '/api/v1') body = apiResourceList('', 'v1');
    else if (parts[0] === 'apis' && parts.length === 2) body = apiGroup(parts[1]!);
    else if (parts[0] === 'apis' && parts.length === 3) body = apiResourceList(parts[1]!, parts[2]!);
    else if (path === '/openapi/v3') body = openApiRoot();
    else if (path.startsWith('/openapi/v3/')) body = openApiDocument(path.slice('/openapi/v3/'.length));
    else if (path === '/healthz' || path === '/livez') return sendText(res, 200, 'ok');
    else if (path === '/readyz') return this.ready(res);
    else if (path === '/metrics') return sendText(res, 200, await this.metrics.registry.metrics(), this.metrics.registry.contentType);
    if (body === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    send(res, 200, body);
  }

  /** Ready when the store answers a read: without it no request can be served. */
  private async ready(res: ServerResponse): Promise<void> {
    try {
      await this.etcd.run((c) => c.range({ key: Buffer.from('/registry/'), limit: 1, keys_only: true }));
      sendText(res, 200, 'ok');
    } catch (err) {
      sendText(res, 503, `[-]etcd failed: ${(err as Error).message}\nreadyz check failed`);
    }
  }

  private sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy(); // mid-watch: the client sees the stream break and starts over
      return;
    }
    if (err instanceof ApiError) return send(res, err.code, err.toStatus());
    const grpcCode = (err as ServiceError).code;
    const unavailable = grpcCode === 14 || grpcCode === 4; // UNAVAILABLE, DEADLINE_EXCEEDED: the store is out of reach
    const status = unavailable
      ? new ApiError(503, 'ServiceUnavailable', `etcd is unavailable: ${(err as Error).message}`)
      : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
    send(res, status.code, status.toStatus());
  }
}

function send(res: ServerResponse, code: number, body: object, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request body as JSON: 400 when malformed, 415 for protobuf (which kubectl's generators send). */
async function readJson(req: IncomingMessage, optional = false): Promise<KubeObject> {
  const type = req.headers['content-type'] ?? '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  if (size === 0 && optional) return undefined as unknown as KubeObject;
  if (type.includes('protobuf')) {
    if (optional) return {}; // a protobuf DeleteOptions (drain's fallback): the defaults serve
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString()) as KubeObject;
  } catch (err) {
    throw badRequest(`the object provided is unrecognized: couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}
