import { randomBytes, randomUUID } from 'node:crypto';
import type { KubeObject } from '../kube-object';
import { kubeTime } from '../kube-time';
import { sameJson } from './same-json';

/** The alphabet of generateName suffixes: no vowels (no words), no look-alikes (apimachinery's). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `generateName` + five random characters, as the real apiserver names such objects. */
export function generatedName(prefix: string): string {
  return prefix + [...randomBytes(5)].map((b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');
}

/** RFC 3339 to the second, the form of every Kubernetes timestamp. */
export const timestamp = kubeTime;

/** What the server, not the client, decides on create: uid, creation time, generation 1. */
export function initialiseMeta(obj: KubeObject): void {
  const meta = obj.metadata;
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp();
  meta.generation = 1;
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
}

/**
 * On update, the fields only the server sets keep their stored values whatever the client sent;
 * `generation` moves when the spec (the desired state) changes.
 */
export function carryServerMeta(current: KubeObject, next: KubeObject): void {
  for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'name', 'namespace', 'generation']) {
    if (current.metadata[f] === undefined) delete next.metadata[f];
    else next.metadata[f] = current.metadata[f];
  }
  if (!sameJson(current.spec, next.spec)) next.metadata.generation = (current.metadata.generation ?? 0) + 1;
}
