import { createServer, RequestListener, Server } from 'node:http';
import { Registry } from 'prom-client';
import { KeelServer } from '../server/keel-server';
import { ETCD_CLUSTER_VERSION, ETCD_VERSION } from '../server/version';
import { splitHostPort } from '../util/host-port';
import { Logger } from '../util/logger';

/**
 * The member's HTTP side (--listen-metrics-urls): /metrics for Prometheus (the member's own
 * registry), /health and /readyz for probes (both need a leader), /livez (the process serves:
 * a member waiting for its peers is alive), /version as etcd answers it.
 */
export async function startHttpServer(server: KeelServer, registry: Registry, hostPorts: string[], log: Logger): Promise<Server[]> {
  const handle: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      }, (err: unknown) => res.writeHead(500).end(String(err)));
    } else if (path === '/health') {
      // As etcd: unhealthy while the member knows no leader.
      const healthy = server.leader !== 0n;
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ health: String(healthy), reason: healthy ? '' : 'RAFT NO LEADER' }));
    } else if (path === '/readyz') {
      const ready = server.leader !== 0n;
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'no leader');
    } else if (path === '/livez') {
      res.writeHead(200).end('ok');
    } else if (path === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ etcdserver: ETCD_VERSION, etcdcluster: ETCD_CLUSTER_VERSION }));
    } else {
      res.writeHead(404).end('404 page not found\n');
    }
  };
  const servers: Server[] = [];
  for (const hp of hostPorts) {
    const { host, port } = splitHostPort(hp);
    const s = createServer(handle);
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, host, resolve));
    servers.push(s);
    log.info('serving metrics and health', { address: `http://${hp}` });
  }
  return servers;
}
