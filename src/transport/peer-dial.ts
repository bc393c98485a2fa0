import { BlockList, connect as connectTcp, isIP, isIPv4, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { splitHostPort } from '../util/host-port';

/** How to dial peers over TLS: this member's peer certificate, and the CA to trust (the system's if none). */
export interface PeerDialTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** A peer that has not answered a dial by then is unreachable for now; the sender tries again later. */
const DIAL_TIMEOUT_MS = 1000;
/** The most a proxy's answer to CONNECT may take before the tunnel opens. */
const MAX_PROXY_ANSWER_BYTES = 8192;

/**
 * Opens a connection to a peer at host:port for a Raft stream, by the route grpc-js takes for the
 * member's gRPC calls to the same address: through the HTTP proxy that `grpc_proxy` (or else
 * `https_proxy`, `http_proxy`) names, unless `no_grpc_proxy` (or else `no_proxy`) lists the host,
 * with HTTP CONNECT; then TLS when `tls` is given. All of a member's peer traffic thus goes one way,
 * which is what an operator setting a proxy expects (and what the chaos tests' PeerProxy relies on).
 * Resolves with the connection paused: attach its listeners, then resume() it.
 */
export async function dialPeer(address: string, tls: PeerDialTls | undefined): Promise<Socket> {
  const { host, port } = splitHostPort(address);
  const proxy = proxyFor(host);
  const tcp = connectTcp(proxy === undefined ? { host, port } : { host: proxy.hostname, port: Number(proxy.port || 80) });
  try {
    await opened(tcp, proxy === undefined ? undefined : connectRequest(address, proxy));
  } catch (err) {
    tcp.destroy();
    throw err;
  }
  tcp.setNoDelay(true);
  if (tls === undefined) return tcp;
  // Certificates name the peer's host: checked as gRPC checks them (SNI only for names, not addresses).
  return connectTls({ socket: tcp, host, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), ...(isIP(host) ? {} : { servername: host }) });
}

/** Resolves once `socket` is connected and, with `request`, once the proxy answered it with 200. */
function opened(socket: Socket, request: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let answer = Buffer.alloc(0);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('data', onData);
      socket.off('error', done);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no connection within ${DIAL_TIMEOUT_MS} ms`)), DIAL_TIMEOUT_MS);
    const onConnect = () => {
      if (request === undefined) {
        socket.pause();
        return done();
      }
      socket.write(request);
    };
    const onData = (bytes: Buffer) => {
      answer = Buffer.concat([answer, bytes]);
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (answer.length > MAX_PROXY_ANSWER_BYTES) done(new Error('the proxy answered CONNECT with too long a header'));
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, end).toString('latin1'))?.[1];
      if (status !== '200') return done(new Error(`the proxy answered CONNECT with ${status ?? 'something not HTTP'}`));
      // Whatever came after the answer is the peer's already: the stream's reader gets it.
      socket.pause();
      if (answer.length > end + 4) socket.unshift(answer.subarray(end + 4));
      done();
    };
    const onClose = () => done(new Error('connection closed while opening'));
    socket.once('connect', onConnect);
    if (request !== undefined) socket.on('data', onData);
    socket.once('error', done);
    socket.once('close', onClose);
  });
}

function connectRequest(address: string, proxy: URL): string {
  const credentials = proxy.username === '' ? ''
    : `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`;
  return `CONNECT ${address} HTTP/1.1\r\nHost: ${address}\r\n${credentials}\r\n`;
}

/** The HTTP proxy grpc-js would use for `host`, from the environment; only http: proxies, as grpc-js. */
function proxyFor(host: string): URL | undefined {
  const setting = process.env.grpc_proxy || process.env.https_proxy || process.env.http_proxy;
  if (!setting) return undefined;
  let url: URL;
  try {
    url = new URL(setting);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || bypassesProxy(host)) return undefined;
  return url;
}

/** Whether the no-proxy list names `host`: by suffix, or an IPv4 address by CIDR block. */
function bypassesProxy(host: string): boolean {
  const list = (process.env.no_grpc_proxy ?? process.env.no_proxy ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  return list.some((entry) => {
    const [network, bits] = entry.split('/');
    if (bits !== undefined && isIPv4(network!) && isIPv4(host)) {
      const block = new BlockList();
      block.addSubnet(network!, Number(bits), 'ipv4');
      return block.check(host, 'ipv4');
    }
    return host.endsWith(entry);
  });
}
