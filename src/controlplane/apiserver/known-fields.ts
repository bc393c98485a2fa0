import type { KubeObject } from '../kube-object';

/**
 * The field names of the built-in types, as far as strict decoding checks them here: every
 * top-level field, ObjectMeta, and the specs users write by hand (pods, pod templates, nodes,
 * services, leases). Deeper objects (probes, volumes, resources, status) are not checked: a
 * field missing from this list would reject a valid manifest, which is worse than letting a typo
 * through. Arrays are checked element by element.
 */
interface Shape {
  fields: readonly string[];
  /** The shapes of fields that are objects, or lists of objects. */
  nested?: Record<string, Shape>;
}

const OBJECT_META: Shape = {
  fields: ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
    'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'],
};

const CONTAINER: Shape = {
  fields: ['name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy', 'restartPolicy',
    'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'terminationMessagePath',
    'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty'],
  nested: {
    ports: { fields: ['name', 'hostPort', 'containerPort', 'protocol', 'hostIP'] },
    env: { fields: ['name', 'value', 'valueFrom'] },
  },
};

const POD_SPEC: Shape = {
  fields: ['volumes', 'initContainers', 'containers', 'ephemeralContainers', 'restartPolicy', 'terminationGracePeriodSeconds',
    'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector', 'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken',
    'nodeName', 'hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'securityContext', 'imagePullSecrets', 'hostname',
    'subdomain', 'affinity', 'schedulerName', 'tolerations', 'hostAliases', 'priorityClassName', 'priority', 'dnsConfig',
    'readinessGates', 'runtimeClassName', 'enableServiceLinks', 'preemptionPolicy', 'overhead', 'topologySpreadConstraints',
    'setHostnameAsFQDN', 'os', 'hostUsers', 'schedulingGates', 'resourceClaims', 'resources'],
  nested: {
    containers: CONTAINER,
    initContainers: CONTAINER,
    tolerations: { fields: ['key', 'operator', 'value', 'effect', 'tolerationSeconds'] },
  },
};

const POD_TEMPLATE: Shape = { fields: ['metadata', 'spec'], nested: { metadata: OBJECT_META, spec: POD_SPEC } };

const WORKLOAD_SPEC: Record<string, Shape> = {
  Deployment: {
    fields: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
    nested: { template: POD_TEMPLATE },
  },
  ReplicaSet: { fields: ['replicas', 'minReadySeconds', 'selector', 'template'], nested: { template: POD_TEMPLATE } },
};

const TOP = ['apiVersion', 'kind', 'metadata'];

const SHAPES: Record<string, Shape> = {
  Pod: { fields: [...TOP, 'spec', 'status'], nested: { metadata: OBJECT_META, spec: POD_SPEC } },
  Deployment: { fields: [...TOP, 'spec', 'status'], nested: { metadata: OBJECT_META, spec: WORKLOAD_SPEC.Deployment! } },
  ReplicaSet: { fields: [...TOP, 'spec', 'status'], nested: { metadata: OBJECT_META, spec: WORKLOAD_SPEC.ReplicaSet! } },
  Node: {
    fields: [...TOP, 'spec', 'status'],
    nested: {
      metadata: OBJECT_META,
      spec: { fields: ['podCIDR', 'podCIDRs', 'providerID', 'unschedulable', 'taints', 'configSource', 'externalID'] },
    },
  },
  Service: {
    fields: [...TOP, 'spec', 'status'],
    nested: {
      metadata: OBJECT_META,
      spec: {
        fields: ['ports', 'selector', 'clusterIP', 'clusterIPs', 'type', 'externalIPs', 'sessionAffinity', 'loadBalancerIP',
          'loadBalancerSourceRanges', 'externalName', 'externalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses',
          'sessionAffinityConfig', 'ipFamilies', 'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass',
          'internalTrafficPolicy', 'trafficDistribution'],
        nested: { ports: { fields: ['name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'] } },
      },
    },
  },
  Namespace: { fields: [...TOP, 'spec', 'status'], nested: { metadata: OBJECT_META } },
  Endpoints: { fields: [...TOP, 'subsets'], nested: { metadata: OBJECT_META } },
  Event: {
    fields: [...TOP, 'involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime',
      'series', 'action', 'related', 'reportingComponent', 'reportingInstance'],
    nested: { metadata: OBJECT_META },
  },
  Lease: {
    fields: [...TOP, 'spec'],
    nested: {
      metadata: OBJECT_META,
      spec: { fields: ['holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions', 'strategy', 'preferredHolder'] },
    },
  },
};

/** The paths (`spec.containers[0].imagee`) of fields `obj`'s kind does not have. */
export function unknownFields(obj: KubeObject): string[] {
  const shape = SHAPES[obj.kind];
  return shape === undefined ? [] : walk(obj, shape, '');
}

function walk(value: unknown, shape: Shape, at: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => walk(v, shape, `${at}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = at === '' ? k : `${at}.${k}`;
    if (!shape.fields.includes(k)) return [path];
    const inner = shape.nested?.[k];
    return inner === undefined ? [] : walk(v, inner, path);
  });
}

/** Removes the fields at `paths` (as unknownFields names them), as decoding into the Go types would. */
export function dropFields(obj: KubeObject, paths: string[]): void {
  for (const path of paths) {
    const parts = path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
    let node: KubeObject | undefined = obj;
    for (const p of parts.slice(0, -1)) node = node?.[p];
    if (node !== undefined) delete node[parts[parts.length - 1]!];
  }
}
