import { createHash } from 'node:crypto';
import { ConfigError } from './errors';

/** A cluster member as MemberList reports it. */
export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** Parses etcd's `--initial-cluster` ("name=url,name=url"); a name may appear with several URLs. */
export function parseInitialCluster(spec: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new ConfigError(`--initial-cluster: "${part}" is not name=url`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    validateUrl(url, '--initial-cluster');
    out.set(name, [...(out.get(name) ?? []), url]);
  }
  if (out.size === 0) throw new ConfigError('--initial-cluster is empty');
  return out;
}

export function validateUrl(url: string, flag: string): void {
  const problem = urlProblem(url);
  if (problem !== undefined) throw new ConfigError(`${flag}: ${problem}`);
}

/**
 * Why etcd's types.NewURLs refuses a URL (for http and https, the schemes Keel serves), in its
 * words, or undefined: the host must carry a port (any, 80 too) and there must be no path.
 */
export function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `URL scheme must be http or https: "${url}"`;
  // What follows "//": the authority ends at the first "/", "?" or "#". (WHATWG's URL drops a
  // default port and adds a "/" path, so the text itself is looked at.)
  const [, authority = '', rest = ''] = /^[^:]*:\/\/([^/?#]*)(.*)$/s.exec(url) ?? [];
  if (!/:\d*$/.test(authority.replace(/^.*@/, ''))) return `URL address does not have the form "host:port": ${url}`;
  if (rest.startsWith('/')) return `URL must not contain a path: ${url}`;
  return undefined;
}

/** etcd's member ID: SHA-1 over the sorted peer URLs and the cluster token, first 8 bytes. */
export function memberIdOf(peerURLs: string[], clusterToken: string): bigint {
  const hash = createHash('sha1').update([...peerURLs].sort().join('') + clusterToken).digest();
  return hash.readBigUInt64BE(0);
}

/** etcd's cluster ID: SHA-1 over the sorted member IDs, 8 bytes each, first 8 bytes. */
export function clusterIdOf(memberIds: bigint[]): bigint {
  const bytes = Buffer.alloc(8 * memberIds.length);
  [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).forEach((id, i) => bytes.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(bytes).digest().readBigUInt64BE(0);
}

/** Whether two lists name the same peer URLs, in any order. */
export function sameUrls(a: string[], b: string[]): boolean {
  return [...a].sort().join(',') === [...b].sort().join(',');
}
