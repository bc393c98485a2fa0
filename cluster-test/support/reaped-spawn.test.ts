import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { eventually } from '../../src/util/eventually';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Ending {
  /** JavaScript that ends the parent. */
  ending: string;
  /** Pause the child with SIGSTOP first. */
  stopChild?: boolean;
  /** A shell command whose first output line is the pid to watch (default: sleep, watching the child itself). */
  shell?: string;
}

/** Runs a node process that starts a child with spawnReaped, prints the pid to watch, then ends as told. */
function parentThatEnds(e: Ending): Promise<{ pid: number; code: number | null }> {
  const command = e.shell === undefined ? "'sleep', ['1000']" : `'sh', ['-c', ${JSON.stringify(e.shell)}]`;
  const script = `
    const { spawnReaped } = require(${JSON.stringify(require.resolve('./reaped-spawn'))});
    const child = spawnReaped(${command}, { stdio: ['ignore', 'pipe', 'ignore'] });
    ${e.stopChild ? "child.kill('SIGSTOP');" : ''}
    const ready = (pid) => { console.log(pid); setTimeout(() => { ${e.ending} }, 100); };
    ${e.shell === undefined ? 'ready(child.pid);' : "child.stdout.once('data', (d) => ready(String(d).trim()));"}`;
  return new Promise((resolve) => {
    const parent = execFile(process.execPath, ['-e', script], (_err, stdout) => resolve({ pid: Number(stdout.trim()), code: parent.exitCode }));
  });
}

describe('spawnReaped: children die with the test process', () => {
  it('kills them when the parent throws', async () => {
    const { pid, code } = await parentThatEnds({ ending: "throw new Error('boom')" });
    assert.equal(code, 1);
    await eventually('the child is gone', () => !alive(pid));
  });

  it('kills a paused (SIGSTOP) child when the parent gets SIGTERM', async () => {
    const { pid, code } = await parentThatEnds({ ending: 'process.kill(process.pid, "SIGTERM")', stopChild: true });
    assert.equal(code, 143);
    await eventually('the child is gone', () => !alive(pid));
  });

  it('kills what the child started, too', async () => {
    const { pid, code } = await parentThatEnds({ ending: 'process.exit(3)', shell: 'sleep 1000 & echo $!; wait' });
    assert.equal(code, 3);
    assert.ok(pid > 0);
    await eventually('the grandchild is gone', () => !alive(pid));
  });
});
