import { alarmCommands } from './alarm-commands';
import { authCommands } from './auth-commands';
import type { CtlCommand } from './command';
import { compactionCommand } from './compaction-command';
import { defragCommand } from './defrag-command';
import { delCommand } from './del-command';
import { electCommand } from './elect-command';
import { endpointCommands } from './endpoint-commands';
import { getCommand } from './get-command';
import { leaseCommands } from './lease-commands';
import { lockCommand } from './lock-command';
import { memberCommands } from './member-commands';
import { moveLeaderCommand } from './move-leader-command';
import { putCommand } from './put-command';
import { snapshotCommand } from './snapshot-command';
import { txnCommand } from './txn-command';
import { watchCommand } from './watch-command';

/** Every keelctl command, in etcdctl's help order. A new command is its file plus one line here. */
export const COMMANDS: CtlCommand[] = [
  getCommand,
  putCommand,
  delCommand,
  txnCommand,
  compactionCommand,
  watchCommand,
  leaseCommands,
  memberCommands,
  endpointCommands,
  moveLeaderCommand,
  alarmCommands,
  defragCommand,
  snapshotCommand,
  electCommand,
  lockCommand,
  authCommands,
];
