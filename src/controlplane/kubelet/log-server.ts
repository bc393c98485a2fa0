import { createReadStream, existsSync, readFileSync, statSync, watch } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Finds a container's log file, or undefined if this kubelet has no such container. */
export type LogLocator = (namespace: string, pod: string, container: string) => string | undefined;

/** The last `lines` lines of `text` (all of them when lines is undefined). */
function tail(text: string, lines: number | undefined): string {
  if (lines === undefined) return text;
  const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const kept = lines <= 0 ? [] : all.slice(-lines);
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/**
 * The kubelet's read-only HTTP API for container logs, as the apiserver's pods/log proxies to it:
 * `GET /containerLogs/<namespace>/<pod>/<container>?tailLines=N&follow=true`. Follow keeps the
 * answer open and streams what the container writes until the client goes.
 */
export function startLogServer(locate: LogLocator, host: string, port: number): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && url.pathname === '/healthz') return void res.end('ok');
    if (req.method !== 'GET' || m === null) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
    const file = locate(ns, pod, container);
    if (file === undefined || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`container "${container}" in pod "${pod}" is not available\n`);
      return;
    }
    const tailLines = url.searchParams.has('tailLines') ? Number(url.searchParams.get('tailLines')) : undefined;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    const text = readFileSync(file, 'utf8');
    res.write(tail(text, tailLines));
    if (url.searchParams.get('follow') !== 'true') return void res.end();
    let offset = Buffer.byteLength(text);
    const more = () => {
      const size = statSync(file).size;
      if (size <= offset) return;
      createReadStream(file, { start: offset, end: size - 1 }).on('data', (chunk) => res.write(chunk));
      offset = size;
    };
    const watcher = watch(file, more);
    req.on('close', () => watcher.close());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen(port, host, () => resolve({ server, address: server.address() as AddressInfo }));
  });
}
