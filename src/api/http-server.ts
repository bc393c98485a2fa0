import { createServer, RequestListener, Server } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { KeelServer } from '../server/keel-server';
import { ETCD_CLUSTER_VERSION, ETCD_VERSION } from '../server/version';
import { Logger } from '../util/logger';

/**
 * The member's HTTP side (--listen-metrics-urls): /metrics for Prometheus, /health and /readyz for
 * probes, /version as etcd answers it. Metrics live on a registry of this member's own.
 */
export async function startHttpServer(server: KeelServer, hostPorts: string[], log: Logger): Promise<Server[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'etcd_server_has_leader', help: 'Whether or not a leader exists. 1 is existence, 0 is not.', registers: [registry] }).set(1);
  new Gauge({ name: 'etcd_server_is_leader', help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.', registers: [registry] }).set(1);
  new Gauge({
    name: 'etcd_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.',
    registers: [registry], async collect() { this.set((await server.status()).dbSize); },
  });
  new Gauge({
    name: 'etcd_debugging_mvcc_current_revision', help: 'The current revision of store.',
    registers: [registry], collect() { this.set(server.currentRevision); },
  });
  const handle: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      }, (err: unknown) => res.writeHead(500).end(String(err)));
    } else if (path === '/health' || path === '/readyz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(path === '/health' ? '{"health":"true","reason":""}' : 'ok');
    } else if (path === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ etcdserver: ETCD_VERSION, etcdcluster: ETCD_CLUSTER_VERSION }));
    } else {
      res.writeHead(404).end('404 page not found\n');
    }
  };
  const servers: Server[] = [];
  for (const hp of hostPorts) {
    const [host, port] = [hp.slice(0, hp.lastIndexOf(':')), Number(hp.slice(hp.lastIndexOf(':') + 1))];
    const s = createServer(handle);
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, host, resolve));
    servers.push(s);
    log.info('serving metrics and health', { address: `http://${hp}` });
  }
  return servers;
}
