import { invariant } from '../util/invariant';
import { NodeId } from './types';

/**
 * A single-member configuration change, as etcd/raft's ConfChange (v1): one member at a time, so
 * any two consecutive configurations share a majority and no joint consensus is needed.
 * `context` is the application's (etcd puts the member's name and URLs there).
 */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: Uint8Array;
}

/** add-node also promotes a learner to voter; update-node changes nothing Raft tracks. */
export type ConfChangeType = 'add-node' | 'remove-node' | 'update-node' | 'add-learner-node';

const TYPES: ConfChangeType[] = ['add-node', 'remove-node', 'update-node', 'add-learner-node'];

/** Entry data of a conf-change entry: type (1 byte), node ID (8 bytes, big-endian), context. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(9 + cc.context.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, TYPES.indexOf(cc.type));
  view.setBigUint64(1, cc.nodeId);
  out.set(cc.context, 9);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  invariant(data.length >= 9, `conf change of ${data.length} bytes is truncated`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = TYPES[view.getUint8(0)];
  invariant(type !== undefined, `unknown conf change type ${view.getUint8(0)}`);
  return { type, nodeId: view.getBigUint64(1), context: data.subarray(9) };
}
