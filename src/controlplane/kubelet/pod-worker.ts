import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../kube-object';
import { ContainerProcess, containerEnv, type ContainerState } from './container-process';
import { runProbe, type ProbeSpec } from './probe';
import { kubeTime as now } from '../kube-time';

export interface PodWorkerOptions {
  /** This pod's directory: container logs, pid files, default working dir. */
  dir: string;
  /** First restart back-off (Kubernetes: 10 s), doubling up to `maxBackoffMs` (5 min). */
  backoffMs: number;
  maxBackoffMs: number;
  /** Something in the status changed: report it. */
  changed(): void;
  /** A probe failed or a container is restarted: for the pod's events. */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** One container of the pod: its current run, what it last ended with, its restarts and readiness. */
interface Slot {
  spec: KubeObject;
  run?: ContainerProcess;
  state: ContainerState;
  lastState?: ContainerState;
  restartCount: number;
  ready: boolean;
  backoffMs: number;
  restartTimer?: NodeJS.Timeout;
  probeTimers: NodeJS.Timeout[];
}


/**
 * Runs one pod's containers as local processes: restarts them per restartPolicy with a doubling
 * back-off (state CrashLoopBackOff meanwhile), runs readiness and liveness probes, and computes the
 * status the kubelet reports. `terminate` stops them gracefully for a pod being deleted.
 */
export class PodWorker {
  private readonly slots: Slot[];
  private readonly startTime = now();
  private terminating = false;

  constructor(private readonly pod: KubeObject, private readonly o: PodWorkerOptions) {
    this.slots = (pod.spec?.containers ?? []).map((spec: KubeObject) => ({
      spec, state: { waiting: { reason: 'ContainerCreating' } }, restartCount: 0, ready: false, backoffMs: o.backoffMs, probeTimers: [],
    }));
  }

  start(): void {
    for (const s of this.slots) this.launch(s);
  }

  /** Stops every container: SIGTERM, SIGKILL after `graceSeconds`; resolves once all have exited. */
  async terminate(graceSeconds: number): Promise<void> {
    this.terminating = true;
    for (const s of this.slots) this.stopProbes(s);
    for (const s of this.slots) clearTimeout(s.restartTimer);
    const running = this.slots.flatMap((s) => (s.run ? [s.run] : []));
    for (const r of running) r.signal('SIGTERM');
    const kill = setTimeout(() => running.forEach((r) => r.signal('SIGKILL')), graceSeconds * 1000);
    await Promise.all(running.map((r) => r.exited));
    clearTimeout(kill);
  }

  /** The pod's status as the kubelet reports it. */
  status(): KubeObject {
    const statuses = this.slots.map((s) => ({
      name: s.spec.name, image: s.spec.image ?? '', imageID: '', containerID: s.run?.pid ? `keel://${s.run.pid}` : '',
      state: s.state, ...(s.lastState ? { lastState: s.lastState } : {}),
      ready: s.ready, restartCount: s.restartCount, started: 'running' in s.state,
    }));
    const allReady = this.slots.length > 0 && this.slots.every((s) => s.ready);
    const at = now();
    const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: at });
    return {
      phase: this.phase(),
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', allReady), cond('Ready', allReady)],
      hostIP: '127.0.0.1', hostIPs: [{ ip: '127.0.0.1' }], podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }],
      startTime: this.startTime, containerStatuses: statuses, qosClass: 'BestEffort',
    };
  }

  private phase(): string {
    const states = this.slots.map((s) => s.state);
    if (states.some((st) => 'running' in st)) return 'Running';
    const restarting = this.slots.some((s) => s.restartTimer !== undefined);
    if (!restarting && states.length > 0 && states.every((st) => 'terminated' in st)) {
      return states.every((st) => 'terminated' in st && st.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    return this.slots.some((s) => s.restartCount > 0) ? 'Running' : 'Pending';
  }

  private launch(s: Slot): void {
    if (this.terminating) return;
    s.restartTimer = undefined;
    let run: ContainerProcess;
    try {
      run = new ContainerProcess(s.spec, join(this.o.dir, `${s.spec.name}.log`), this.o.dir);
    } catch (err) {
      this.notCreated(s, (err as Error).message);
      return;
    }
    s.run = run;
    if (run.pid !== undefined) writeFileSync(join(this.o.dir, `${s.spec.name}.pid`), String(run.pid));
    s.state = { running: { startedAt: run.startedAt } };
    s.ready = s.spec.readinessProbe === undefined;
    this.startProbes(s, run);
    this.o.changed();
    void run.exited.then((ended) => this.exited(s, run, ended));
  }

  /** Kubernetes' CreateContainerError: the container never ran; say why, and try again after the back-off as the kubelet does. */
  private notCreated(s: Slot, why: string): void {
    s.state = { waiting: { reason: 'CreateContainerError', message: why } };
    this.o.event('Warning', 'Failed', `Error: ${why}`);
    s.restartTimer = setTimeout(() => this.launch(s), s.backoffMs);
    s.backoffMs = Math.min(s.backoffMs * 2, this.o.maxBackoffMs);
    this.o.changed();
  }

  private exited(s: Slot, run: ContainerProcess, ended: ContainerState): void {
    if (s.run !== run) return;
    // Its whole process group is gone (container-process.ts): no leftover for a later kubelet to end.
    rmSync(join(this.o.dir, `${s.spec.name}.pid`), { force: true });
    this.stopProbes(s);
    s.ready = false;
    s.state = ended;
    const code = 'terminated' in ended ? ended.terminated.exitCode : 0;
    const policy: string = this.pod.spec?.restartPolicy ?? 'Always';
    if (!this.terminating && (policy === 'Always' || (policy === 'OnFailure' && code !== 0))) {
      // Kubernetes' CrashLoopBackOff: wait, doubling each time, then run it again.
      s.lastState = ended;
      s.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(s.backoffMs / 1000)}s restarting failed container=${s.spec.name} pod=${this.pod.metadata.name}` } };
      s.restartTimer = setTimeout(() => {
        s.restartCount++;
        this.o.event('Normal', 'Started', `Started container ${s.spec.name}`);
        this.launch(s);
      }, s.backoffMs);
      s.backoffMs = Math.min(s.backoffMs * 2, this.o.maxBackoffMs);
    }
    this.o.changed();
  }

  private startProbes(s: Slot, run: ContainerProcess): void {
    const every = (probe: ProbeSpec, onResult: (ok: boolean) => void) => {
      const tick = () => {
        void runProbe(probe, containerEnv(s.spec), s.spec.workingDir ?? this.o.dir, s.spec).then((ok) => {
          if (s.run === run && !this.terminating) onResult(ok);
        });
      };
      const first = setTimeout(() => {
        tick();
        s.probeTimers.push(setInterval(tick, (probe.periodSeconds ?? 10) * 1000));
      }, (probe.initialDelaySeconds ?? 0) * 1000);
      s.probeTimers.push(first);
    };
    const readiness: ProbeSpec | undefined = s.spec.readinessProbe;
    if (readiness) {
      let failures = 0;
      let successes = 0;
      every(readiness, (ok) => {
        failures = ok ? 0 : failures + 1;
        successes = ok ? successes + 1 : 0;
        const ready = ok ? (s.ready || successes >= (readiness.successThreshold ?? 1)) : (s.ready && failures < (readiness.failureThreshold ?? 3));
        if (!ok) this.o.event('Warning', 'Unhealthy', `Readiness probe failed for container ${s.spec.name}`);
        if (ready !== s.ready) {
          s.ready = ready;
          this.o.changed();
        }
      });
    }
    const liveness: ProbeSpec | undefined = s.spec.livenessProbe;
    if (liveness) {
      let failures = 0;
      every(liveness, (ok) => {
        failures = ok ? 0 : failures + 1;
        if (ok || failures < (liveness.failureThreshold ?? 3)) return;
        this.o.event('Warning', 'Unhealthy', `Liveness probe failed for container ${s.spec.name}`);
        this.o.event('Normal', 'Killing', `Container ${s.spec.name} failed liveness probe, will be restarted`);
        failures = 0;
        run.signal('SIGKILL');
      });
    }
  }

  private stopProbes(s: Slot): void {
    for (const t of s.probeTimers) {
      clearTimeout(t);
      clearInterval(t);
    }
    s.probeTimers = [];
  }
}
