import * as net from 'node:net';

/** A TCP relay to a local port that can be frozen: it then keeps every connection open and passes nothing on, as a stopped (SIGSTOP) server would. */
export interface FreezableRelay {
  url: string;
  freeze(): void;
  close(): Promise<void>;
}

export async function startFreezableRelay(targetPort: number): Promise<FreezableRelay> {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('error', () => {}); // either side going ends both, below
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
    }
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze: () => {
      frozen = true;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((closed) => server.close(() => closed()));
    },
  };
}
