import assert from 'node:assert/strict';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { EtcdClient } from '../src/client/etcd-client';
import { KeelFlags, parseKeelFlags } from '../src/cmd/keel-flags';
import { eventually } from '../src/util/eventually';
import { hostPort } from '../src/util/host-port';
import { freePort, KEEL_BIN } from './support/member-process';

/*
 * docker/ cannot be run here (no Docker engine, no Kubernetes), so this checks what can be checked
 * without them: the files parse; every flag they give keel is accepted by keel's own flag parser
 * (not a second list of flags); the members of each cluster agree with each other and with the
 * services, volumes and selectors around them; and the same command lines, moved to loopback,
 * start real keel processes that form one cluster and pass the image's health check.
 */

/** The repository root: tests run from dist/cluster-test. */
const ROOT = join(__dirname, '..', '..');
const DOCKER = join(ROOT, 'docker');
const K8S = join(DOCKER, 'k8s');

/** keel's own parser decides what a real flag and a valid value are. */
function keelFlags(argv: string[], where: string): KeelFlags {
  try {
    return parseKeelFlags(argv, 'packaging-test');
  } catch (err) {
    throw new Error(`${where}: keel refuses its arguments: ${(err as Error).message}`);
  }
}

const portOf = (url: string) => Number(new URL(url).port);
const hostOf = (url: string) => new URL(url).hostname;

/** `name=url,...` as a map; keel's flags leave --initial-cluster as the string it was given. */
function initialCluster(spec: string): Map<string, string> {
  return new Map(spec.split(',').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** The instructions of a Dockerfile's last (runtime) stage, continuation lines joined. */
function runtimeStage(text: string): Array<{ keyword: string; args: string }> {
  // Docker drops comment lines before joining continuations, so a comment never ends one.
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ').split('\n');
  const all = lines.map((l) => l.trim()).filter((l) => l !== '').map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l);
    assert.ok(m, `Dockerfile line without arguments: ${l}`);
    return { keyword: m[1]!.toUpperCase(), args: m[2]! };
  });
  return all.slice(all.map((i) => i.keyword).lastIndexOf('FROM'));
}

function instruction(stage: Array<{ keyword: string; args: string }>, keyword: string): string {
  const found = stage.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `the runtime stage has one ${keyword}`);
  return found[0]!.args;
}

/** Everything the files name as host:port gets a loopback port of its own, the same one each time. */
class Loopback {
  private readonly ports = new Map<string, number>();
  private readonly taken = new Set<number>();

  /**
   * Rewrites every http://host:port in `text` to http://127.0.0.1:<its port>. A wildcard or
   * loopback host is the member's own address, `self`, as it is inside its container.
   */
  async rewrite(text: string, self: string): Promise<string> {
    const re = /http:\/\/([^/:,\s'"]+):(\d+)/g;
    const key = (host: string, port: string) => `${['0.0.0.0', '127.0.0.1', 'localhost'].includes(host) ? self : host}:${port}`;
    for (const [, host, port] of text.matchAll(re)) {
      const k = key(host!, port!);
      if (this.ports.has(k)) continue;
      let p = await freePort();
      // The kernel may hand out a port twice in a row.
      while (this.taken.has(p)) p = await freePort();
      this.taken.add(p);
      this.ports.set(k, p);
    }
    return text.replace(re, (_, host: string, port: string) => `http://127.0.0.1:${this.ports.get(key(host, port))}`);
  }
}

/** A keel process started from a packaged member's command line. */
interface Running {
  name: string;
  /** The member's own command line, moved to loopback, as keel parsed it. */
  flags: KeelFlags;
  client: EtcdClient;
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** A member as the packaging defines it: its name, its own host name, and keel's arguments. */
interface PackagedMember {
  name: string;
  self: string;
  argv: string[];
}

/** Every process this file starts, so that after() stops whatever a failed test left behind. */
const started = new Set<Running>();

/**
 * Starts the members' own arguments as keel processes on loopback: only host:port pairs and the
 * value of --data-dir change (to a directory under `dir`).
 */
async function startLocally(members: PackagedMember[], loopback: Loopback, dir: string): Promise<Running[]> {
  await mkdir(dir, { recursive: true });
  const out: Running[] = [];
  for (const m of members) {
    assert.ok(m.argv.some((a) => a.startsWith('--data-dir=')), `${m.name} passes --data-dir=<path>`);
    const argv: string[] = [];
    // One at a time: two rewrites at once could give one host:port two ports.
    for (const a of m.argv) argv.push(a.startsWith('--data-dir=') ? `--data-dir=${join(dir, m.name)}` : await loopback.rewrite(a, m.self));
    const flags = keelFlags(argv, m.name);
    const log = createWriteStream(join(dir, `${m.name}.log`));
    const child: ChildProcess = spawn(process.execPath, [KEEL_BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const client = new EtcdClient(hostPort(flags.listenClientUrls[0]!), { commandTimeoutMs: 1000 });
    const running: Running = {
      name: m.name, flags, client, exited,
      stop: async () => {
        client.close();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        started.delete(running);
      },
    };
    started.add(running);
    out.push(running);
  }
  return out;
}

/** Resolves with `work`, or fails as soon as one of the members exits on its own. */
function whileAllRun<T>(members: Running[], dir: string, work: Promise<T>): Promise<T> {
  const anExit = Promise.race(members.map((m) => m.exited.then(() => m.name)))
    .then((name) => Promise.reject(new Error(`${name} exited; see ${join(dir, `${name}.log`)}`)));
  return Promise.race([work, anExit]);
}

/** Waits until a write through the first member is read back through every other one. */
async function assertOneCluster(members: Running[], dir: string, key: string): Promise<void> {
  const [first, ...others] = members;
  await whileAllRun(members, dir, eventually(`a put through ${first!.name}`, async () => {
    await first!.client.put({ key: Buffer.from(key), value: Buffer.from(first!.name) });
    return true;
  }, 30_000, 100));
  for (const m of others) {
    const r = await m.client.range({ key: Buffer.from(key) });
    assert.equal(r.kvs[0]?.value.toString(), first!.name, `${m.name} reads what ${first!.name} wrote`);
  }
  const list = await others[0]!.client.memberList();
  assert.deepEqual(
    list.members.map((x) => [x.name, x.peerURLs]).sort(),
    members.map((m) => [m.name, m.flags.initialAdvertisePeerUrls]).sort(),
    'the cluster has exactly the packaged members, at their peer URLs',
  );
}

/** Runs a shell command as Docker runs HEALTHCHECK CMD's shell form; resolves with its exit code. */
function shell(command: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { timeout: 10_000 }, (err) => {
      resolve(err ? (typeof err.code === 'number' ? err.code : -1) : 0);
    });
  });
}

interface Dockerfile {
  /** The runtime stage's base image. */
  base: string;
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  user: string;
  volumes: string[];
  exposed: number[];
  /** The HEALTHCHECK's CMD, in shell form. */
  healthcheck: string;
}

async function readDockerfile(): Promise<Dockerfile> {
  const stage = runtimeStage(await readFile(join(DOCKER, 'Dockerfile'), 'utf8'));
  const health = /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(instruction(stage, 'HEALTHCHECK'));
  assert.ok(health, 'HEALTHCHECK runs a CMD');
  return {
    base: instruction(stage, 'FROM'),
    entrypoint: JSON.parse(instruction(stage, 'ENTRYPOINT')) as string[],
    cmd: JSON.parse(instruction(stage, 'CMD')) as string[],
    workdir: instruction(stage, 'WORKDIR'),
    user: instruction(stage, 'USER'),
    volumes: instruction(stage, 'VOLUME').split(/\s+/),
    exposed: instruction(stage, 'EXPOSE').split(/\s+/).map(Number),
    healthcheck: health[1]!,
  };
}

/** Labels a selector asks for are all on the pods (and it asks for some). */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

interface ComposeService {
  image: string;
  build?: { context: string; dockerfile: string };
  hostname: string;
  command: string[];
  ports: string[];
  volumes: string[];
  healthcheck?: unknown;
}

async function readCompose(): Promise<{ services: Record<string, ComposeService>; volumes: Record<string, unknown> }> {
  // merge: compose files use YAML merge keys (<<) for what members share.
  return parse(await readFile(join(DOCKER, 'compose.yaml'), 'utf8'), { merge: true });
}

function composeMembers(services: Record<string, ComposeService>): PackagedMember[] {
  return Object.entries(services).map(([name, s]) => ({ name, self: s.hostname, argv: s.command }));
}

/* Kubernetes objects, as far as these checks read them. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Probe { httpGet: { path: string; port: string } }
interface Container {
  image: string;
  env: EnvVar[];
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface StatefulSetSpec {
  serviceName: string;
  replicas: number;
  podManagementPolicy: string;
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: Array<{ topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }> } };
      securityContext: { runAsNonRoot: boolean; runAsUser: number };
      containers: Container[];
    };
  };
  volumeClaimTemplates: Array<{ metadata: { name: string } }>;
}
interface ServiceSpec {
  clusterIP?: string;
  publishNotReadyAddresses?: boolean;
  selector: Record<string, string>;
  ports: Array<{ name: string; port: number; targetPort: string }>;
}

async function readK8s(): Promise<K8sObject[]> {
  const files = (await readdir(K8S)).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length > 0, 'docker/k8s has manifests');
  const objects: K8sObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(await readFile(join(K8S, f), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${f} parses`);
      const o = doc.toJS() as K8sObject;
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${f}: every document is a named Kubernetes object`);
      objects.push(o);
    }
  }
  return objects;
}

function only(objects: K8sObject[], what: string, pred: (o: K8sObject) => boolean): K8sObject {
  const found = objects.filter(pred);
  assert.equal(found.length, 1, `docker/k8s has exactly one ${what}`);
  return found[0]!;
}

/** The headless Service the StatefulSet names, and the other (client) Service. */
function k8sParts(objects: K8sObject[]) {
  const sts = only(objects, 'StatefulSet', (o) => o.kind === 'StatefulSet');
  const spec = sts.spec as unknown as StatefulSetSpec;
  const headless = only(objects, `Service named "${spec.serviceName}" (the StatefulSet's serviceName)`, (o) => o.kind === 'Service' && o.metadata.name === spec.serviceName);
  const client = only(objects, 'client Service', (o) => o.kind === 'Service' && o.metadata.name !== spec.serviceName);
  const pdb = only(objects, 'PodDisruptionBudget', (o) => o.kind === 'PodDisruptionBudget');
  assert.equal(spec.template.spec.containers.length, 1, 'one container per member pod');
  return { sts, spec, container: spec.template.spec.containers[0]!, headless, client, pdb };
}

/**
 * A pod's arguments as the kubelet hands them to keel: $(VAR) expanded from the env variables
 * defined before it, with the downward API's pod name and namespace.
 */
function podArgs(container: Container, pod: string, namespace: string): string[] {
  const vars = new Map<string, string>();
  const expand = (s: string) => s.replace(/\$\((\w+)\)/g, (_, v: string) => {
    const value = vars.get(v);
    // Kubernetes would pass an unknown $(VAR) on literally: a member named "$(X)".
    assert.ok(value !== undefined, `$(${v}) is defined before its use`);
    return value;
  });
  const fields: Record<string, string> = { 'metadata.name': pod, 'metadata.namespace': namespace };
  for (const e of container.env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const value = field !== undefined ? fields[field] : e.value !== undefined ? expand(e.value) : undefined;
    assert.ok(value !== undefined, `env ${e.name} has a value this test understands`);
    vars.set(e.name, value);
  }
  return container.args.map(expand);
}

/** The pods a StatefulSet creates, with their stable names under its headless Service. */
function k8sMembers(spec: StatefulSetSpec, stsName: string, namespace: string): PackagedMember[] {
  return Array.from({ length: spec.replicas }, (_, i) => {
    const pod = `${stsName}-${i}`;
    return { name: pod, self: `${pod}.${spec.serviceName}.${namespace}.svc.cluster.local`, argv: podArgs(spec.template.spec.containers[0]!, pod, namespace) };
  });
}

describe('packaging: docker/', function () {
  this.timeout(90_000);
  let dir: string;
  let failed = false;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-packaging-'));
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    await Promise.all([...started].map((m) => m.stop()));
    // A failure keeps the members' logs and data for a look.
    if (failed) console.log(`packaging test: logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });

  describe('Dockerfile', () => {
    it('runs keel from its WORKDIR as a non-root user, with the data dir in a volume', async () => {
      const d = await readDockerfile();
      const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: { keel: string } };
      assert.deepEqual(d.entrypoint, ['node', posix.join(d.workdir, pkg.bin.keel)], 'ENTRYPOINT is package.json\'s keel binary');
      assert.match(d.base, /^node:20[\w.-]*-slim$/, 'the runtime stage is a slim Node 20 image (no compiler, no dev dependencies)');
      assert.notEqual(d.user, 'root');
      assert.notEqual(d.user, '0');
      const flags = keelFlags(d.cmd, 'Dockerfile CMD');
      assert.ok(d.volumes.some((v) => flags.dataDir.startsWith(`${v}/`)), `--data-dir ${flags.dataDir} is inside a VOLUME (${d.volumes.join(' ')})`);
      const listening = [...flags.listenClientUrls, ...flags.listenPeerUrls, ...flags.listenMetricsUrls].map(portOf);
      assert.deepEqual([...new Set(listening)].sort(), [...d.exposed].sort(), 'EXPOSE lists exactly the ports CMD listens on');
      const health = /fetch\('([^']+)'/.exec(d.healthcheck);
      assert.ok(health && /^node -e /.test(d.healthcheck), 'HEALTHCHECK is a node one-liner that fetches a URL');
      assert.equal(new URL(health[1]!).pathname, '/health');
      assert.ok(flags.listenMetricsUrls.map(portOf).includes(portOf(health[1]!)), 'HEALTHCHECK asks the port --listen-metrics-urls serves');
    });

    it('starts a member from ENTRYPOINT and CMD, and HEALTHCHECK passes while it runs and fails once it stops', async () => {
      const d = await readDockerfile();
      const loopback = new Loopback();
      const [member] = await startLocally([{ name: 'default', self: 'container', argv: d.cmd }], loopback, dir);
      const check = await loopback.rewrite(d.healthcheck, 'container');
      await whileAllRun([member!], dir, eventually('HEALTHCHECK passes', async () => (await shell(check)) === 0, 30_000, 100));
      await member!.stop();
      assert.notEqual(await shell(check), 0, 'HEALTHCHECK fails with the member stopped');
    });
  });

  describe('compose.yaml', () => {
    it('defines three members that agree on the cluster, with their own hostnames, ports and volumes', async () => {
      const compose = await readCompose();
      const d = await readDockerfile();
      const names = Object.keys(compose.services);
      assert.deepEqual(names, ['keel1', 'keel2', 'keel3']);
      const parsed = names.map((n) => {
        const s = compose.services[n]!;
        assert.equal(s.hostname, n, `${n}: its hostname is its service name, which the others resolve`);
        assert.ok(s.build, `${n} has a build section`);
        // Compose resolves the context from the compose file's directory, the Dockerfile from the context.
        assert.equal(join(DOCKER, s.build.context, s.build.dockerfile), join(DOCKER, 'Dockerfile'), `${n} is built from docker/Dockerfile`);
        // Without a healthcheck key the image's HEALTHCHECK applies; the test below runs that one.
        assert.equal(s.healthcheck, undefined, `${n} keeps the image's HEALTHCHECK`);
        return { n, s, flags: keelFlags(s.command, `compose ${n}`) };
      });
      assert.equal(new Set(parsed.map((p) => p.s.image)).size, 1, 'one image for all members');

      const first = parsed[0]!.flags;
      const cluster = initialCluster(first.initialCluster);
      assert.deepEqual([...cluster.keys()], names, '--initial-cluster names exactly the members');
      for (const { n, s, flags } of parsed) {
        assert.equal(flags.name, n);
        assert.equal(flags.initialCluster, first.initialCluster, `${n} has the same --initial-cluster`);
        assert.equal(flags.initialClusterToken, first.initialClusterToken, `${n} has the same --initial-cluster-token`);
        assert.equal(flags.initialClusterState, 'new');
        assert.deepEqual(flags.initialAdvertisePeerUrls, [cluster.get(n)], `${n} advertises the peer URL the cluster expects`);
        assert.equal(hostOf(cluster.get(n)!), n, `${n}'s peer URL uses its hostname`);
        assert.deepEqual(flags.advertiseClientUrls.map(hostOf), [n], `${n} advertises a client URL on its hostname`);
        assert.ok(flags.listenPeerUrls.map(portOf).includes(portOf(cluster.get(n)!)), `${n} listens on its advertised peer port`);
        // Every port a member listens on is one the image exposes.
        for (const u of [...flags.listenClientUrls, ...flags.listenPeerUrls, ...flags.listenMetricsUrls]) {
          assert.ok(d.exposed.includes(portOf(u)), `${n}: the image EXPOSEs ${u}'s port`);
        }
        assert.equal(s.ports.length, 1, `${n} publishes its client port only`);
        const [, target] = s.ports[0]!.split(':');
        assert.equal(Number(target), portOf(flags.listenClientUrls[0]!), `${n} publishes the port it serves clients on`);
        assert.equal(s.volumes.length, 1);
        const [volume, mount] = s.volumes[0]!.split(':');
        assert.ok(volume! in compose.volumes, `${n}'s volume ${volume} is a named volume`);
        assert.ok(flags.dataDir.startsWith(`${mount}/`), `${n}'s data dir is on its volume`);
      }
      assert.deepEqual(parsed.map((p) => p.s.ports[0]!.split(':')[0]), ['2379', '22379', '32379'], 'host ports as etcd\'s local cluster');
      assert.equal(new Set(parsed.map((p) => p.s.volumes[0]!.split(':')[0])).size, 3, 'each member has its own volume');
    });

    it('starts its three command lines as one cluster; the image HEALTHCHECK tracks the leader', async () => {
      const compose = await readCompose();
      const d = await readDockerfile();
      const loopback = new Loopback();
      const members = await startLocally(composeMembers(compose.services), loopback, join(dir, 'compose'));
      await assertOneCluster(members, join(dir, 'compose'), 'compose-key');
      const [keel1, keel2, keel3] = members;
      const check = await loopback.rewrite(d.healthcheck, compose.services.keel1!.hostname);
      assert.equal(await shell(check), 0, 'HEALTHCHECK passes on keel1 in a healthy cluster');
      // With the other two gone keel1 loses its leader (check-quorum): /health answers 503.
      await Promise.all([keel2!.stop(), keel3!.stop()]);
      await eventually('HEALTHCHECK fails on keel1 without a quorum', async () => (await shell(check)) !== 0, 30_000, 100);
      // The liveness probe's /livez asks only that the process serves, so a member waiting for its
      // peers is not restarted.
      assert.equal(await shell(check.replace('/health', '/livez')), 0, '/livez passes on keel1 without a quorum');
      await keel1!.stop();
      assert.notEqual(await shell(check), 0, 'HEALTHCHECK fails with keel1 stopped');
    });
  });

  describe('k8s/', () => {
    it('has a StatefulSet whose Services, budget and anti-affinity select its pods', async () => {
      const objects = await readK8s();
      const { spec, headless, client, pdb } = k8sParts(objects);
      const labels = spec.template.metadata.labels;
      assert.ok(selects(spec.selector.matchLabels, labels), 'the StatefulSet selects its own pods');
      const hs = headless.spec as unknown as ServiceSpec;
      assert.equal(hs.clusterIP, 'None', `${headless.metadata.name} is headless`);
      assert.equal(hs.publishNotReadyAddresses, true, 'peers resolve each other before any is ready');
      for (const svc of [headless, client]) {
        const s = svc.spec as unknown as ServiceSpec;
        assert.ok(selects(s.selector, labels), `Service ${svc.metadata.name} selects the pods`);
      }
      const budget = pdb.spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      assert.ok(selects(budget.selector.matchLabels, labels), 'the PodDisruptionBudget selects the pods');
      assert.equal(budget.minAvailable, Math.floor(spec.replicas / 2) + 1, 'disruptions never take the quorum');
      assert.equal(spec.replicas, 3);
      assert.equal(spec.podManagementPolicy, 'Parallel', 'members start together: none is ready alone');
      const anti = spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      assert.ok(anti.some((t) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector.matchLabels, labels)), 'one member per node');
      assert.equal(spec.template.spec.securityContext.runAsNonRoot, true);
    });

    it('gives each pod keel arguments that name it, agree on the cluster and match its ports, probes and volume', async () => {
      const objects = await readK8s();
      const { sts, spec, container, headless, client } = k8sParts(objects);
      const compose = await readCompose();
      assert.equal(container.image, compose.services.keel1!.image, 'the same image as the compose file');
      const namedPort = (name: string) => {
        const p = container.ports.find((x) => x.name === name);
        assert.ok(p, `the container has a port named ${name}`);
        return p.containerPort;
      };
      for (const svc of [headless, client]) {
        for (const p of (svc.spec as unknown as ServiceSpec).ports) namedPort(p.targetPort);
      }
      const members = k8sMembers(spec, sts.metadata.name, 'ns');
      const parsed = members.map((m) => ({ m, flags: keelFlags(m.argv, `pod ${m.name}`) }));
      const first = parsed[0]!.flags;
      const cluster = initialCluster(first.initialCluster);
      assert.deepEqual([...cluster.keys()], members.map((m) => m.name), '--initial-cluster names exactly the StatefulSet\'s pods');
      for (const { m, flags } of parsed) {
        assert.equal(flags.name, m.name, 'the member is named after its pod');
        assert.equal(flags.initialCluster, first.initialCluster);
        assert.equal(flags.initialClusterToken, first.initialClusterToken);
        assert.equal(flags.initialClusterState, 'new');
        assert.deepEqual(flags.initialAdvertisePeerUrls, [cluster.get(m.name)]);
        assert.equal(hostOf(cluster.get(m.name)!), m.self, `${m.name}'s peer URL is its stable name under the headless Service`);
        assert.deepEqual(flags.advertiseClientUrls.map(hostOf), [m.self]);
        assert.deepEqual(flags.listenClientUrls.map(portOf), [namedPort('client')]);
        assert.deepEqual(flags.listenPeerUrls.map(portOf), [namedPort('peer')]);
        assert.equal(portOf(cluster.get(m.name)!), namedPort('peer'));
        assert.deepEqual(flags.listenMetricsUrls.map(portOf), [namedPort('metrics')]);
        const mount = container.volumeMounts.find((v) => flags.dataDir.startsWith(`${v.mountPath}/`));
        assert.ok(mount && spec.volumeClaimTemplates.some((t) => t.metadata.name === mount.name), 'the data dir is on the pod\'s own claim');
      }
      assert.deepEqual(
        [container.startupProbe, container.readinessProbe, container.livenessProbe].map((p) => [p.httpGet.path, namedPort(p.httpGet.port)]),
        [['/health', portOf(first.listenMetricsUrls[0]!)], ['/readyz', portOf(first.listenMetricsUrls[0]!)], ['/livez', portOf(first.listenMetricsUrls[0]!)]],
        'probes ask keel\'s /health, /readyz and /livez on the metrics port',
      );
    });

    it('starts the three pods\' arguments as one cluster', async () => {
      const { sts, spec } = k8sParts(await readK8s());
      const members = await startLocally(k8sMembers(spec, sts.metadata.name, 'ns'), new Loopback(), join(dir, 'k8s'));
      try {
        await assertOneCluster(members, join(dir, 'k8s'), 'k8s-key');
      } finally {
        await Promise.all(members.map((m) => m.stop()));
      }
    });
  });
});
