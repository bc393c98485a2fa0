/**
 * The etcd version Keel answers as (Status, /version). Clients gate features on it: kube-apiserver,
 * for one, asks for 3.5.13 or later before it relies on watch progress requests.
 */
export const ETCD_VERSION = '3.5.17';
export const ETCD_CLUSTER_VERSION = '3.5.0';
