import type * as grpc from '@grpc/grpc-js';
import type { KVHandlers } from '../generated/etcdserverpb/KV';
import { keepArrivedAs } from '../util/arrived-as';
import { etcdPackage } from '../wire/etcd-package';
import { KeelServer } from '../server/keel-server';
import { Logger } from '../util/logger';
import { unary, withHeader } from './handler';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from './validate';

/** etcd's limit on operations in one txn branch (--max-txn-ops default). */
export const MAX_TXN_OPS = 128;

const generated = etcdPackage.KV.service;

/** The written request keeps the bytes it arrived in, which its log entry takes as they are. */
function keepingBytes(method: grpc.MethodDefinition<object, object>): grpc.MethodDefinition<object, object> {
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) => keepArrivedAs(method.requestDeserialize(bytes), bytes),
  };
}

/** etcdserverpb.KV as generated, its writes keeping their bytes. */
export const KV_SERVICE: grpc.ServiceDefinition = {
  ...generated,
  Put: keepingBytes(generated.Put),
  DeleteRange: keepingBytes(generated.DeleteRange),
  Txn: keepingBytes(generated.Txn),
};

/** etcdserverpb.KV: validate, call the core, fill the header. */
export function kvService(server: KeelServer, log: Logger): KVHandlers {
  return {
    Range: unary(log, async (req) => {
      checkRangeRequest(req);
      return withHeader(server, await server.range(req));
    }),
    Put: unary(log, async (req) => {
      checkPutRequest(req);
      return withHeader(server, await server.put(req));
    }),
    DeleteRange: unary(log, async (req) => {
      checkDeleteRequest(req);
      return withHeader(server, await server.deleteRange(req));
    }),
    Txn: unary(log, async (req) => {
      checkTxnRequest(req, MAX_TXN_OPS);
      return withHeader(server, await server.txn(req));
    }),
    Compact: unary(log, async (req) => withHeader(server, await server.compact(req))),
  };
}
