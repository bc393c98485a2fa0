/** Objects the control-plane tests create: containers are shell scripts run by the kubelet (no images here). */
/** A pod that runs `script` once. */
export const pod = (name: string, script: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { run: name } },
  spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 5, containers: [{ name, image: 'none', command: ['sh', '-c', script] }] },
});
/** A Deployment whose pods run `script`. */
export const deployment = (name: string, replicas: number, script: string) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: {
    replicas, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 5, containers: [{ name, image: 'none', command: ['sh', '-c', script] }] } },
  },
});
