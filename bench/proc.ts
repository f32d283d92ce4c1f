/**
 * Process figures from Linux's /proc: CPU time (Deno has no per-process CPU
 * API) and peak resident memory. The parsers are pure; the readers return
 * `null` where /proc is missing or the process is gone.
 *
 * @module
 */

/** Clock ticks per second of /proc/PID/stat times; 100 on every Linux build that matters. */
export const CLOCK_TICKS = 100;

/**
 * User plus system CPU time, in milliseconds, from the text of /proc/PID/stat.
 * The command name (field 2) may hold spaces and parentheses, so fields are
 * counted from the last `)`.
 *
 * @example
 * ```ts
 * import { parseStatCpuMs } from "./proc.ts";
 * const stat = "42 (deno (x)) S 1 42 42 0 -1 4194560 1 0 0 0 150 25 0 0 20 0";
 * if (parseStatCpuMs(stat) !== 1750) throw new Error("Expected 1750 ms");
 * ```
 */
export function parseStatCpuMs(stat: string): number {
  const close = stat.lastIndexOf(")");
  if (close < 0) {
    throw new Error(`Cannot parse /proc stat: no command name in "${stat}"`);
  }
  // Fields after the name start at field 3 (state); utime is 14, stime 15.
  const fields = stat.slice(close + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`Cannot parse /proc stat: "${stat.slice(0, 80)}"`);
  }
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/**
 * The value of a `kB` line such as `VmHWM:    51200 kB` in /proc/PID/status,
 * in KiB, or `null` when the field is absent.
 *
 * @example
 * ```ts
 * import { parseStatusKiB } from "./proc.ts";
 * const status = "Name:\tdeno\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n";
 * if (parseStatusKiB(status, "VmHWM") !== 51200) throw new Error("Expected 51200");
 * ```
 */
export function parseStatusKiB(status: string, field: string): number | null {
  for (const line of status.split("\n")) {
    if (!line.startsWith(`${field}:`)) continue;
    const match = /^[^:]+:\s*([0-9]+)\s*kB/.exec(line);
    return match === null ? null : Number(match[1]);
  }
  return null;
}

async function readProc(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

/** CPU time used so far by process `pid` ("self" for this one), in ms. */
export async function cpuTimeMs(
  pid: number | "self" = "self",
): Promise<number | null> {
  const stat = await readProc(`/proc/${pid}/stat`);
  return stat === null ? null : parseStatCpuMs(stat);
}

/** Peak resident set size (VmHWM) of process `pid`, in KiB. */
export async function peakRssKiB(pid: number): Promise<number | null> {
  const status = await readProc(`/proc/${pid}/status`);
  return status === null ? null : parseStatusKiB(status, "VmHWM");
}

/** Jiffies a core spent, from one `cpuN` line of /proc/stat. */
export interface CoreTimes {
  /** Everything but idle and iowait: user, system, interrupts, steal. */
  busy: number;
  /** Every jiffy counted on the line, idle included. */
  total: number;
}

/**
 * The times of core `core` in the text of /proc/stat, or `null` when absent.
 * Busy time includes interrupt and softirq time, where the kernel does
 * loopback TCP work that no process is charged for.
 *
 * @example
 * ```ts
 * import { parseCoreTimes } from "./proc.ts";
 * const stat = "cpu  9 0 9 90 0 0 2 0 0 0\ncpu1 4 0 3 40 1 0 2 0 0 0\n";
 * const times = parseCoreTimes(stat, 1);
 * if (times?.busy !== 9 || times.total !== 50) throw new Error("Wrong times");
 * ```
 */
export function parseCoreTimes(stat: string, core: number): CoreTimes | null {
  const prefix = `cpu${core} `;
  for (const line of stat.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const fields = line.slice(prefix.length).trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal; guest time is in user.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  }
  return null;
}

/** The times of core `core` so far. */
export async function coreTimes(core: number): Promise<CoreTimes | null> {
  const stat = await readProc("/proc/stat");
  return stat === null ? null : parseCoreTimes(stat, core);
}

/** Busy share of a core between two readings, in percent. */
export function coreBusyPercent(
  before: CoreTimes | null,
  after: CoreTimes | null,
): number | null {
  if (before === null || after === null || after.total <= before.total) {
    return null;
  }
  return ((after.busy - before.busy) * 100) / (after.total - before.total);
}

/** Model name of the first CPU in /proc/cpuinfo, or `null`. */
export async function cpuModel(): Promise<string | null> {
  const info = await readProc("/proc/cpuinfo");
  const match = info === null ? null : /^model name\s*:\s*(.+)$/m.exec(info);
  return match === null ? null : match[1]!.trim();
}
