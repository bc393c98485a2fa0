/** host:port of a URL, the form socket servers bind to and gRPC dials. */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}
