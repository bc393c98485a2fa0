import { request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from '../kube-object';
import type { Registry } from './registry';
import { RESOURCES } from './resources';
import type { ResourceRoute } from './routes';
import { ApiError, badRequest } from './status-error';

const NODES = RESOURCES.find((r) => r.name === 'nodes')!;

/**
 * `GET …/pods/<name>/log` (kubectl logs): finds the pod's container and node, and relays the
 * answer of that node's kubelet (`/containerLogs/…`, with tailLines and follow) as it streams.
 */
export async function servePodLog(req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams, registry: Registry): Promise<void> {
  const pod = await registry.get(route.resource, route.namespace, route.name!);
  const containers: string[] = (pod.spec?.containers ?? []).map((c: KubeObject) => c.name);
  const container = query.get('container') ?? (containers.length === 1 ? containers[0]! : undefined);
  if (container === undefined) {
    throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`);
  }
  if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
  const nodeName: string | undefined = pod.spec?.nodeName;
  const started = (pod.status?.containerStatuses ?? []).some((s: KubeObject) => s.name === container && (s.state?.running || s.state?.terminated || s.lastState?.terminated));
  if (!nodeName || !started) {
    throw badRequest(`container "${container}" in pod "${pod.metadata.name}" is waiting to start: ContainerCreating`);
  }
  const node = await registry.get(NODES, undefined, nodeName);
  const address = (node.status?.addresses ?? []).find((a: KubeObject) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!port) throw new ApiError(500, 'InternalError', `node ${nodeName} has no kubelet endpoint`);
  const kubeletQuery = new URLSearchParams();
  for (const name of ['tailLines', 'follow']) {
    const v = query.get(name);
    if (v !== null) kubeletQuery.set(name, v);
  }
  const path = `/containerLogs/${encodeURIComponent(route.namespace!)}/${encodeURIComponent(pod.metadata.name)}/${encodeURIComponent(container)}?${kubeletQuery}`;
  await new Promise<void>((resolve, reject) => {
    const upstream = request({ host: address, port, path, method: 'GET' }, (answer) => {
      if (answer.statusCode !== 200) {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => reject(new ApiError(answer.statusCode === 404 ? 404 : 500, answer.statusCode === 404 ? 'NotFound' : 'InternalError', Buffer.concat(chunks).toString().trim())));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
      answer.pipe(res);
      answer.on('end', () => resolve());
      answer.on('error', () => resolve());
    });
    upstream.on('error', (err) => reject(new ApiError(500, 'InternalError', `Get "http://${address}:${port}${path}": ${err.message}`)));
    req.on('close', () => upstream.destroy());
    upstream.end();
  });
}
