/** host:port of a URL, the form socket servers bind to and gRPC dials (the scheme's port if it names its default). */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
}

/** The host (IPv6 without its brackets) and port of host:port. */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const colon = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(hostPort.slice(colon + 1)) };
}

/** Whether host:port only takes connections from this machine. */
export function isLoopback(hostPort: string): boolean {
  const { host } = splitHostPort(hostPort);
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
