import type { KubeObject } from '../kube-object';
import { timestamp } from './object-meta';

/**
 * What a DELETE does to a pod, by kube-apiserver's rules (rest.BeforeDelete and the pod strategy's
 * CheckGracefulDelete): `now` removes it (finalizers permitting), `mark` sets or shortens its
 * graceful deletion (its kubelet stops it and removes it), `pending` leaves a deletion under way
 * as it is.
 */
export type PodDeletion =
  | { kind: 'now' }
  | { kind: 'pending' }
  | { kind: 'mark'; deletionTimestamp: string; gracePeriodSeconds: number };

/** The deletion of `pod` asked with `gracePeriodSeconds` (DeleteOptions'; undefined if not given). */
export function podDeletion(pod: KubeObject, gracePeriodSeconds: number | undefined, now = new Date()): PodDeletion {
  const asked = gracePeriodSeconds !== undefined && gracePeriodSeconds < 0 ? 1 : gracePeriodSeconds; // as Kubernetes: negative is 1 s
  const meta = pod.metadata;
  if (meta.deletionTimestamp) {
    const left = meta.deletionGracePeriodSeconds as number | undefined;
    // A mark with no grace period is a deletion that did not finish: it finishes now.
    if (left === undefined || left <= 0) return { kind: 'now' };
    // Once under way, a deletion can only be hurried: a second `kubectl delete` waits as the first.
    if (asked === undefined || asked >= left) return { kind: 'pending' };
    if (asked === 0) return { kind: 'now' };
    const sooner = new Date(Date.parse(meta.deletionTimestamp) - (left - asked) * 1000);
    return { kind: 'mark', deletionTimestamp: timestamp(sooner), gracePeriodSeconds: asked };
  }
  let period = asked ?? (pod.spec?.terminationGracePeriodSeconds as number | undefined) ?? 0;
  // Nothing runs a pod that no node has, or one that has ended: it has nothing to stop gracefully.
  if (!pod.spec?.nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') period = 0;
  if (period === 0) return { kind: 'now' };
  return { kind: 'mark', deletionTimestamp: timestamp(new Date(now.getTime() + period * 1000)), gracePeriodSeconds: period };
}
