/**
 * The process's own numbers, for `/hubz` and the standard `process_*`
 * metrics: memory from `Deno.memoryUsage()`, CPU time from `node:process`
 * (no permission needed), open file descriptors from `/proc/self/fd` when
 * the hub may read it.
 *
 * @module
 */
import process from "node:process";

/** A reading of the process's resources. */
export interface ProcessStats {
  /** Resident memory, bytes. */
  rss_bytes: number;
  /** V8 heap in use, bytes. */
  heap_used_bytes: number;
  /** V8 heap reserved, bytes. */
  heap_total_bytes: number;
  /** Memory outside the heap held by JavaScript objects (buffers), bytes. */
  external_bytes: number;
  /** User and system CPU time used so far, seconds. */
  cpu_seconds: number;
  /** Open file descriptors; `null` where they cannot be counted. */
  open_fds: number | null;
  /** When the process started, seconds since the epoch. */
  start_time_seconds: number;
}

const FD_DIR = "/proc/self/fd";

function openFds(): number | null {
  try {
    const allowed = Deno.permissions.querySync({ name: "read", path: FD_DIR });
    if (allowed.state !== "granted") return null;
    let count = 0;
    for (const _ of Deno.readDirSync(FD_DIR)) count++;
    // The directory's own descriptor, open while it is read.
    return count - 1;
  } catch {
    return null; // Not Linux.
  }
}

/**
 * Reads the process's resources now.
 *
 * @example
 * ```ts
 * import { processStats } from "./process.ts";
 * const stats = processStats();
 * if (!(stats.rss_bytes > 0 && stats.cpu_seconds >= 0)) throw new Error();
 * ```
 */
export function processStats(): ProcessStats {
  const memory = Deno.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rss_bytes: memory.rss,
    heap_used_bytes: memory.heapUsed,
    heap_total_bytes: memory.heapTotal,
    external_bytes: memory.external,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    open_fds: openFds(),
    start_time_seconds: Math.round(performance.timeOrigin) / 1000,
  };
}
