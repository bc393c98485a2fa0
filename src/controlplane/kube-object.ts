/**
 * A Kubernetes object as JSON. The apiserver does not carry the Go types of each kind, so objects
 * are schemaless here; `any` lets each handler reach into the fields its kind has, and validation
 * (validation.ts, known-fields.ts) is where shapes are checked.
 */
export type KubeObject = Record<string, any>;
