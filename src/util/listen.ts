import { createServer as createNetServer, Server, Socket } from 'node:net';
import { createServer as createTlsServer, TlsOptions } from 'node:tls';
import { splitHostPort } from './host-port';

/**
 * Listens on host:port (IPv6 hosts in brackets): plain TCP, or TLS when `tls` is given, in which
 * case each connection is handed over once its handshake is done. Resolves with the server and
 * the port bound (port 0 asks the kernel for one).
 */
export function listenOn(hostPort: string, tls: TlsOptions | undefined, onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const { host, port } = splitHostPort(hostPort);
  const server: Server = tls === undefined ? createNetServer(onConnection) : createTlsServer(tls, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}
