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

/** Runs a node process that starts `sleep` with spawnReaped, prints its pid, then ends as `ending` says. */
function parentThatEnds(ending: string, stopChild = false): Promise<{ childPid: number; code: number | null }> {
  const script = `
    const { spawnReaped } = require(${JSON.stringify(require.resolve('./reaped-spawn'))});
    const child = spawnReaped('sleep', ['1000'], { stdio: 'ignore' });
    ${stopChild ? "child.kill('SIGSTOP');" : ''}
    console.log(child.pid);
    setTimeout(() => { ${ending} }, 100);`;
  return new Promise((resolve) => {
    const parent = execFile(process.execPath, ['-e', script], (_err, stdout) => resolve({ childPid: Number(stdout.trim()), code: parent.exitCode }));
  });
}

describe('spawnReaped: children die with the test process', () => {
  it('kills them when the parent throws', async () => {
    const { childPid, code } = await parentThatEnds("throw new Error('boom')");
    assert.equal(code, 1);
    await eventually('the child is gone', () => !alive(childPid));
  });

  it('kills a paused (SIGSTOP) child when the parent gets SIGTERM', async () => {
    const { childPid, code } = await parentThatEnds('process.kill(process.pid, "SIGTERM")', true);
    assert.equal(code, 143);
    await eventually('the child is gone', () => !alive(childPid));
  });
});
