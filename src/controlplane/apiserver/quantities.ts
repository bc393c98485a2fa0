import type { KubeObject } from '../kube-object';
import { parseQuantity, QUANTITY_FORMAT_WRONG } from '../quantity';
import { undecodable } from './status-error';

/** The maps of resource quantities an object holds: its containers' requests and limits, a Node's capacity and allocatable. */
function quantityMaps(obj: KubeObject): unknown[] {
  if (obj.kind === 'Node') return [obj.status?.capacity, obj.status?.allocatable];
  const podSpec = obj.kind === 'Pod' ? obj.spec : obj.spec?.template?.spec;
  const containers: unknown[] = Array.isArray(podSpec?.containers) ? podSpec.containers : [];
  return containers.flatMap((c) => [(c as KubeObject)?.resources?.requests, (c as KubeObject)?.resources?.limits]);
}

/**
 * Refuses (400) an object with a quantity that does not parse, as kube-apiserver's decoder does
 * before any validation: the scheduler and the kubelets count on every stored quantity parsing.
 */
export function checkQuantities(obj: KubeObject): void {
  for (const map of quantityMaps(obj)) {
    if (typeof map !== 'object' || map === null) continue;
    for (const q of Object.values(map)) {
      try {
        parseQuantity(q);
      } catch {
        throw undecodable(obj.kind, obj.apiVersion, QUANTITY_FORMAT_WRONG);
      }
    }
  }
}
