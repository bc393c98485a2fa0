import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * /proc reports CPU time in USER_HZ clock ticks, which the Linux ABI fixes at 100 per second on every
 * architecture Node runs on (sysconf(_SC_CLK_TCK) is not reachable from Node).
 */
const USER_HZ = 100;

/** CPU time (user + system, all threads) a process has used so far, in milliseconds. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Field 2 (comm) is in parentheses and may contain spaces, so count fields after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ')' the first field is #3 (state); utime is #14 and stime #15.
  const utimeTicks = Number(fields[14 - 3]);
  const stimeTicks = Number(fields[15 - 3]);
  return ((utimeTicks + stimeTicks) * 1000) / USER_HZ;
}

/**
 * CPU time every process on the box has used so far (all cores), in milliseconds: everything in the
 * /proc/stat "cpu" line except idle and iowait. Steal counts too: time taken away from us either way.
 */
export function machineBusyCpuMs(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"; guest time is already in user.
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 1000) / USER_HZ;
}

/**
 * TCP connections this process has open to `port`. Counted from our own sockets rather than the
 * server's accepted ones because etcd also connects to its own client port (its HTTP gateway).
 * Shows how many connections the clients really opened, whatever they were asked for.
 */
export function ownConnectionsTo(port: number): number {
  const ownSocketInodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) ownSocketInodes.add(m[1]!);
    } catch {
      // the fd closed between readdir and readlink (e.g. the one readdir itself used)
    }
  }
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue; // no IPv6 in this kernel or namespace
    }
    for (const line of text.split('\n').slice(1)) {
      // Columns: sl local_address rem_address st ... inode (#9); addresses are ADDR:PORT in hex, st 01 = ESTABLISHED.
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[2]!.endsWith(portHex) && cols[3] === '01' && ownSocketInodes.has(cols[9]!)) count++;
    }
  }
  return count;
}
