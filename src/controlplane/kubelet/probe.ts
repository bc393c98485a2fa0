import { execFile } from 'node:child_process';
import { request } from 'node:http';
import type { KubeObject } from '../kube-object';

/** A readiness or liveness probe as a pod spec gives it; exec and httpGet are supported. */
export interface ProbeSpec {
  exec?: { command: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

/** Runs a probe once: true on success (exit 0; HTTP 200–399), false on failure or timeout. */
export function runProbe(probe: ProbeSpec, env: NodeJS.ProcessEnv, cwd: string | undefined, container: KubeObject): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const [cmd, ...args] = probe.exec.command;
    if (cmd === undefined) return Promise.resolve(false);
    return new Promise((resolve) => execFile(cmd, args, { env, cwd, timeout: timeoutMs }, (err) => resolve(err === null)));
  }
  if (probe.httpGet) {
    const port = typeof probe.httpGet.port === 'number' ? probe.httpGet.port : namedPort(container, probe.httpGet.port);
    if (port === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const req = request({ host: probe.httpGet!.host ?? '127.0.0.1', port, path: probe.httpGet!.path ?? '/', timeout: timeoutMs }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }
  return Promise.resolve(true); // tcpSocket and grpc probes are not supported: treated as passing
}

function namedPort(container: KubeObject, name: string): number | undefined {
  const n = Number(name);
  if (Number.isInteger(n)) return n;
  return (container.ports ?? []).find((p: { name?: string }) => p.name === name)?.containerPort;
}
