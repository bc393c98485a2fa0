/** Who a request comes from, as an authenticator established it. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
}

/** Every authenticated user is also in this group, as in Kubernetes. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
/** Members may do anything, whatever the authorizers say (kube-apiserver's privileged group). */
export const MASTERS_GROUP = 'system:masters';
/** Kubelets: user `system:node:<node name>` in this group. */
export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
