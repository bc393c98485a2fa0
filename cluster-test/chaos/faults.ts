import type { ChaosCluster } from './cluster';
import type { FaultStep } from './schedule';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Injects one fault, holds it for its time (the schedule's, not a wait for a condition), and
 * heals it. `onInjected` gets a description of what was done, for the progress line and report.
 */
export async function runFault(cluster: ChaosCluster, step: FaultStep, onInjected: (what: string) => void): Promise<void> {
  const names = cluster.names();
  const target = names[step.target % names.length]!;
  const others = names.filter((n) => n !== target);
  switch (step.kind) {
    case 'kill':
      await cluster.kill9(target);
      onInjected(`kill -9 ${target}`);
      await sleep(step.holdMs);
      await cluster.restart(target);
      return;
    case 'restart':
      await cluster.stopMember(target);
      onInjected(`restart ${target}`);
      await cluster.restart(target);
      return;
    case 'pause':
      cluster.pause(target);
      onInjected(`SIGSTOP ${target}`);
      await sleep(step.holdMs);
      cluster.resume(target);
      return;
    case 'wipe':
      onInjected(`wipe ${target}`);
      await cluster.wipe(target);
      return;
    case 'slow':
      for (const o of others) {
        cluster.proxy.setDelay(target, o, step.delayMs!);
        cluster.proxy.setDelay(o, target, step.delayMs!);
      }
      onInjected(`slow links of ${target} (+${step.delayMs} ms each way)`);
      await sleep(step.holdMs);
      cluster.proxy.healAll();
      return;
    case 'silence':
      // A minority partition that drops packets instead of refusing connections.
      for (const o of others) {
        cluster.proxy.silence(target, o);
        cluster.proxy.silence(o, target);
      }
      onInjected(`silent links of ${target} (everything dropped, no reset)`);
      await sleep(step.holdMs);
      cluster.proxy.healAll();
      return;
    case 'partition': {
      const cuts = await partitionCuts(cluster, step, target, others);
      for (const [from, to] of cuts) cluster.proxy.cut(from, to);
      onInjected(`partition ${step.shape}: ${cuts.map(([f, t]) => `${f}-x->${t}`).join(' ')}`);
      await sleep(step.holdMs);
      cluster.proxy.healAll();
      return;
    }
  }
}

/** The links (from, to) that a partition of `step.shape` cuts. */
async function partitionCuts(cluster: ChaosCluster, step: FaultStep, target: string, others: string[]): Promise<Array<[string, string]>> {
  const both = (a: string, b: string): Array<[string, string]> => [[a, b], [b, a]];
  switch (step.shape!) {
    case 'minority':
      return others.flatMap((o) => both(target, o));
    case 'leader': {
      const leader = await cluster.leader();
      return cluster.names().filter((n) => n !== leader).flatMap((o) => both(leader, o));
    }
    case 'bridge':
      // The target reaches both sides; the two others cannot reach each other.
      return others.length < 2 ? [] : both(others[0]!, others[1]!);
    case 'oneway':
      return others.map((o): [string, string] => [target, o]);
  }
}
