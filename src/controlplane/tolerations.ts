/** A node taint, as in a Node's spec.taints. */
export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** A pod's toleration, as in its spec.tolerations. */
export interface Toleration {
  key?: string;
  operator?: 'Equal' | 'Exists';
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * The first of `tolerations` that tolerates `taint`, by Kubernetes' rule: an empty effect matches
 * every effect, an empty key with Exists every key, Exists any value, Equal (the default) the
 * taint's value only.
 */
export function tolerationFor(tolerations: Toleration[], taint: Taint): Toleration | undefined {
  return tolerations.find((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}
