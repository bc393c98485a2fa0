import { Counter, Histogram, Registry } from 'prom-client';

/** The apiserver's request metrics, kube-apiserver's names: counts and latencies by verb, resource and code. */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'apiserver_request_total', help: 'Requests, by verb, resource and HTTP code.',
    labelNames: ['verb', 'resource', 'subresource', 'code'], registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'apiserver_request_duration_seconds', help: 'Request latency (to the end of the response; watches excluded), by verb and resource.',
    labelNames: ['verb', 'resource', 'subresource'], registers: [this.registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  observe(verb: string, resource: string, subresource: string, code: number, seconds: number): void {
    this.requests.inc({ verb, resource, subresource, code: String(code) });
    if (verb !== 'watch') this.duration.observe({ verb, resource, subresource }, seconds);
  }
}
