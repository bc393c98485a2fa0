/** A kubeconfig naming one apiserver (kubectl takes one server per cluster), with no credentials. */
export function kubeconfig(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: keel',
    '  cluster:',
    `    server: ${server}`,
    'contexts:',
    '- name: keel',
    '  context:',
    '    cluster: keel',
    '    user: admin',
    'current-context: keel',
    'users:',
    '- name: admin',
    '  user: {}',
    '',
  ].join('\n');
}
