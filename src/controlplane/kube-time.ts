/** Kubernetes' Time: RFC 3339 in UTC, to the second (`2026-11-23T06:40:00Z`). */
export function kubeTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Kubernetes' MicroTime (Lease renewTime and acquireTime): six fractional digits. */
export function kubeMicroTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
