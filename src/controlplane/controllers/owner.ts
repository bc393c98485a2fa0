import type { KubeObject } from '../kube-object';

/** The ownerReference marking `owner` as the controller of its dependents. */
export function controllerRef(owner: KubeObject, kind: string, apiVersion: string): KubeObject {
  return { apiVersion, kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** The uid of the object's controller (the ownerReference with controller: true), if any. */
export function controllerUid(o: KubeObject): string | undefined {
  return (o.metadata?.ownerReferences ?? []).find((r: KubeObject) => r.controller)?.uid;
}

export const isTerminating = (o: KubeObject): boolean => Boolean(o.metadata?.deletionTimestamp);

export function isPodReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True');
}

/** Pods that count toward a ReplicaSet: not being deleted and not finished. */
export function isActivePod(pod: KubeObject): boolean {
  return !isTerminating(pod) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export { kubeTime as timestamp } from '../kube-time';
