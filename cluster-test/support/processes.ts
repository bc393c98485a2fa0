import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The pids of processes whose command line contains `word` (pgrep -f); tests mark their pods' commands with one. */
export function pidsMatching(word: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', word], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Whether `pid` runs: a zombie (killed, not yet reaped by whoever adopted it) does not. */
export function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Kills what is left of the containers whose command line contains `word` (a kubelet a test killed
 * could not stop them): each container's whole process group, as the kubelet starts each in its
 * own, so the children it started go too.
 */
export function killContainersMatching(word: string): void {
  for (const pid of pidsMatching(word)) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
        break;
      } catch {
        // not a group leader (try the process alone), or gone already
      }
    }
  }
}
