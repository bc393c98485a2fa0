import { execFileSync } from 'node:child_process';

/** The pids of processes whose command line contains `word` (pgrep -f); tests mark their pods' commands with one. */
export function pidsMatching(word: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', word], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
