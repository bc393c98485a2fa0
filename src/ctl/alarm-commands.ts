import type { AlarmResponse__Output } from '../generated/etcdserverpb/AlarmResponse';
import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';

export const alarmCommands: CtlCommand = {
  register(program, bind) {
    const alarm = program.command('alarm').description('Alarm related commands');

    leaf(alarm, 'disarm', 'Disarms all alarms').action(bind(async (ctx, args) => {
      if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'alarm disarm command accepts no arguments');
      const client = await ctx.client();
      // As clientv3's AlarmDisarm of "every alarm": list them, disarm each, report what was disarmed.
      const active = await client.alarm({ action: 'GET', memberID: 0, alarm: 'NONE' });
      const disarmed: AlarmResponse__Output = { header: null, alarms: [] };
      for (const a of active.alarms) {
        const r = await client.alarm({ action: 'DEACTIVATE', memberID: a.memberID, alarm: a.alarm });
        disarmed.alarms.push(...r.alarms);
      }
      ctx.printer.alarm(disarmed);
    }));

    leaf(alarm, 'list', 'Lists all alarms').action(bind(async (ctx, args) => {
      if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'alarm list command accepts no arguments');
      ctx.printer.alarm(await (await ctx.client()).alarm({ action: 'GET', memberID: 0, alarm: 'NONE' }));
    }));
  },
};
