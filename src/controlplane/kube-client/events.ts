import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../kube-object';
import { apiPath, EVENTS } from './api-path';
import type { KubeClient } from './kube-client';
import { kubeTime } from '../kube-time';

export type EventType = 'Normal' | 'Warning';

/**
 * Records a core/v1 Event about `about` (what `kubectl describe` lists), as client-go's recorder
 * does: named `<object>.<unique suffix>`, with the reporting component as its source. Best effort:
 * an event that cannot be written is not worth failing the work it describes.
 */
export async function recordEvent(client: KubeClient, component: string, about: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
  const namespace: string = about.metadata?.namespace ?? 'default';
  const now = kubeTime();
  const event = {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: `${about.metadata?.name}.${randomBytes(8).toString('hex')}`, namespace },
    involvedObject: {
      kind: about.kind ?? 'Pod', apiVersion: about.apiVersion ?? 'v1', namespace: about.metadata?.namespace, name: about.metadata?.name, uid: about.metadata?.uid,
    },
    reason, message, type, count: 1, firstTimestamp: now, lastTimestamp: now,
    source: { component, ...(about.spec?.nodeName && component === 'kubelet' ? { host: about.spec.nodeName } : {}) },
    reportingComponent: component,
  };
  await client.create(apiPath(EVENTS, { namespace }), event).catch(() => undefined);
}
