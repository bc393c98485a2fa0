import { SeededRand } from '../../src/util/rand';

/** What the chaos runner can do to the cluster. */
export const FAULT_KINDS = ['kill', 'pause', 'restart', 'partition', 'silence', 'slow', 'wipe'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * minority: one member cut off from the others (both ways). leader: the same for whoever leads when
 * the fault starts. bridge: two members cannot reach each other but both reach the third.
 * oneway: one member's messages to the others are lost while theirs reach it.
 */
export const PARTITION_SHAPES = ['minority', 'leader', 'bridge', 'oneway'] as const;
export type PartitionShape = (typeof PARTITION_SHAPES)[number];

export interface FaultStep {
  kind: FaultKind;
  /** Index of the member the fault is aimed at (for 'leader' partitions, decided when it starts). */
  target: number;
  /** For partitions. */
  shape?: PartitionShape;
  /** For slow links: delay of every chunk, each way. */
  delayMs?: number;
  /** How long the fault lasts before it is healed (a killed member stays down this long). */
  holdMs: number;
  /** Quiet time after healing, before the next fault. */
  gapMs: number;
}

/**
 * The faults of a run, from its seed alone: the same seed gives the same steps, so a failing run
 * replays with its seed (the timing of the workload around them differs, the faults do not).
 * Kinds come in rounds, each round every allowed kind once in a seeded order, so a run of at
 * least one round injects each kind at least once.
 */
export class FaultSchedule {
  private readonly rand: SeededRand;
  private round: FaultKind[] = [];

  constructor(seed: number, private readonly kinds: readonly FaultKind[], private readonly members: number) {
    if (kinds.length === 0) throw new Error('a fault schedule needs at least one fault kind');
    this.rand = new SeededRand(seed);
  }

  next(): FaultStep {
    if (this.round.length === 0) this.round = this.shuffled();
    const kind = this.round.shift()!;
    const step: FaultStep = { kind, target: this.rand.intn(this.members), holdMs: 1000 + this.rand.intn(3000), gapMs: 500 + this.rand.intn(1500) };
    // Long enough for the members to give the silent links up (LINK_TIMEOUT_MS) and work without them.
    if (kind === 'silence') step.holdMs += 5000;
    if (kind === 'partition') step.shape = PARTITION_SHAPES[this.rand.intn(PARTITION_SHAPES.length)]!;
    if (kind === 'slow') step.delayMs = 20 + this.rand.intn(180);
    return step;
  }

  /** Fisher-Yates over the allowed kinds. */
  private shuffled(): FaultKind[] {
    const out = [...this.kinds];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rand.intn(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** Parses a comma-separated list of fault kinds (the --faults flag). */
export function parseFaultKinds(text: string): FaultKind[] {
  const kinds = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault '${k}' (known: ${FAULT_KINDS.join(', ')})`);
  }
  return [...new Set(kinds)] as FaultKind[];
}
