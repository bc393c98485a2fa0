import type { AlarmMember } from '../generated/etcdserverpb/AlarmMember';
import type { AlarmRequest__Output } from '../generated/etcdserverpb/AlarmRequest';
import type { AlarmResponse } from '../generated/etcdserverpb/AlarmResponse';
import type { AlarmType__Output } from '../generated/etcdserverpb/AlarmType';
import { Engine, EngineOp } from '../storage/engine';
import { metaKey } from '../storage/keyspace';

export type AlarmType = Exclude<AlarmType__Output, 'NONE'>;

interface ActiveAlarm {
  memberID: string;
  alarm: AlarmType;
}

/**
 * etcd's alarm store: which member raised which alarm. Changed only by applying an alarm request
 * from the log, and persisted in the same batch, so every member agrees and a restart keeps them.
 */
export class AlarmStore {
  private alarms: ActiveAlarm[] = [];

  /** Reads the alarms of the data dir (again, after a snapshot replaced the state). */
  async load(engine: Engine): Promise<void> {
    const stored = await engine.get(metaKey('alarms'));
    this.alarms = stored === undefined ? [] : (JSON.parse(stored.toString('utf8')) as ActiveAlarm[]);
  }

  /** Whether any member has raised an alarm of this type. */
  has(type: AlarmType): boolean {
    return this.alarms.some((a) => a.alarm === type);
  }

  /** The alarms of one type ('NONE': all), in a fixed order so every member answers alike. */
  list(type: AlarmType__Output = 'NONE'): AlarmMember[] {
    return this.alarms.filter((a) => type === 'NONE' || a.alarm === type).map((a) => ({ ...a }));
  }

  /**
   * Applies an alarm request as etcd does: GET lists, ACTIVATE answers the alarm (new or already
   * raised), DEACTIVATE answers the alarm it cleared or nothing if it was not raised.
   */
  apply(req: AlarmRequest__Output, batch: EngineOp[]): AlarmResponse {
    const type = req.alarm;
    if (req.action === 'GET') return { alarms: this.list(type) };
    // An alarm of no type is no alarm: nothing to raise or clear.
    if (type === 'NONE') return { alarms: [] };
    const found = this.alarms.find((a) => a.memberID === req.memberID && a.alarm === type);
    if (req.action === 'ACTIVATE') {
      if (found !== undefined) return { alarms: [{ ...found }] };
      const added: ActiveAlarm = { memberID: req.memberID, alarm: type };
      this.alarms = [...this.alarms, added].sort(byTypeThenMember);
      batch.push(this.op());
      return { alarms: [{ ...added }] };
    }
    if (found === undefined) return { alarms: [] };
    this.alarms = this.alarms.filter((a) => a !== found);
    batch.push(this.op());
    return { alarms: [{ ...found }] };
  }

  private op(): EngineOp {
    return { type: 'put', key: metaKey('alarms'), value: Buffer.from(JSON.stringify(this.alarms)) };
  }
}

/** The order of etcd's AlarmType enum. */
const TYPE_ORDER: Record<AlarmType, number> = { NOSPACE: 1, CORRUPT: 2 };

function byTypeThenMember(a: ActiveAlarm, b: ActiveAlarm): number {
  if (a.alarm !== b.alarm) return TYPE_ORDER[a.alarm] - TYPE_ORDER[b.alarm];
  const [x, y] = [BigInt(a.memberID), BigInt(b.memberID)];
  return x === y ? 0 : x < y ? -1 : 1;
}
