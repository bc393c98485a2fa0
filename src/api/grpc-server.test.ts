import { startInProcessMember } from '../cmd/in-process-member';
import { EtcdClient } from '../client/etcd-client';
import { eventually } from '../util/eventually';

describe('the client server at shutdown', function () {
  this.timeout(30_000);

  it('stops while a client keeps a watch open, cutting its connection after the grace period', async () => {
    const m = await startInProcessMember();
    const client = new EtcdClient(m.endpoint);
    try {
      const watch = client.watchStream();
      let created = false;
      let ended = false;
      watch.on('data', () => {
        created = true;
      });
      watch.on('error', () => {
        ended = true;
      });
      watch.on('end', () => {
        ended = true;
      });
      watch.write({ create_request: { key: Buffer.from('k') } });
      await eventually('the watch created', () => created);
      // Before the fix this never resolved: grpc-js left the watching client's session open.
      await m.close();
      await eventually('the watch stream cut', () => ended);
    } finally {
      client.close();
    }
  });
});
