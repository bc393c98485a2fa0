import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distinctPorts, MemberProcess, startKeel, waitForLeader } from './support/member-process';

/** Whether a member's log file comes to contain `text` within `timeoutMs` (polled). */
async function logMentions(m: MemberProcess, text: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readFile(m.logFile, 'utf8')).includes(text)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('cluster identity', function () {
  this.timeout(60_000);
  let dir: string;
  const members: MemberProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-identity-'));
  });
  afterEach(async function () {
    await Promise.all(members.splice(0).map((m) => m.stop()));
    if (this.currentTest?.state === 'failed') console.error(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });

  it('refuses peers started for another cluster, and the right members still form one', async () => {
    // Six ports asked of the kernel one by one may repeat: a member then failed to bind (EADDRINUSE).
    const ports = await distinctPorts(3);
    const initialCluster = ports.map((p, i) => `m${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
    // m3 gets another --initial-cluster-token: same flags otherwise, but a different cluster.
    const tokens = ['cluster-a', 'cluster-a', 'cluster-b'];
    members.push(...await Promise.all(ports.map((p, i) => startKeel({
      name: `m${i + 1}`, baseDir: dir, clientPort: p.client, peerPort: p.peer, initialCluster,
      extraArgs: ['--initial-cluster-token', tokens[i]!, '--heartbeat-interval', '50', '--election-timeout', '500'],
    }))));
    await waitForLeader(members.slice(0, 2).map((m) => m.endpoint));
    assert.ok(await logMentions(members[2]!, 'a peer refused this member'), `m3 was not told; see ${members[2]!.logFile}`);
    assert.ok(await logMentions(members[0]!, 'rejected stream from a peer of another cluster'), `m1 did not refuse; see ${members[0]!.logFile}`);
  });
});
