/**
 * Watches the soak from outside the load: the hub's memory, descriptors and
 * CPU time from /proc, this process's CPU time and event-loop lag, and the
 * kernel's TCP counters. Readings are refreshed by a loop of their own, so a
 * slow /proc read never holds up a report; each read is timed, and the
 * slowest is kept for the report. Library code: it never prints.
 *
 * @module
 */
import { cpuTimeMs, parseStatusKiB } from "../../bench/mod.ts";

/** The hub's memory and descriptors at one moment. */
export interface HubSample {
  /** Resident memory now (VmRSS), KiB. */
  rssKiB: number;
  /** Peak resident memory so far (VmHWM), KiB. */
  hwmKiB: number;
  /** Entries in /proc/PID/fd. */
  fds: number;
}

/** Kernel TCP counters that explain stalls on loopback. */
export const TCP_COUNTERS = [
  "ListenOverflows",
  "TCPTimeouts",
  "TCPMemoryPressures",
] as const;

/** One of {@linkcode TCP_COUNTERS}. */
export type TcpCounter = typeof TCP_COUNTERS[number];

/** Every reading at one moment. */
export interface WatchReading {
  /** `performance.now()` when the reading was complete. */
  at: number;
  /** `null` once the hub is gone. */
  hub: HubSample | null;
  /** CPU time the hub has used, ms. */
  hubCpuMs: number | null;
  /** CPU time this process has used, ms. */
  selfCpuMs: number | null;
  /** System-wide counters: other processes count too. */
  tcp: Record<TcpCounter, number>;
}

/** The slowest read since the last report. */
export interface SlowRead {
  /** What was read. */
  what: string;
  /** How long the read took. */
  ms: number;
}

/** How often the readings are refreshed. */
const READ_EVERY_MS = 250;
/** Period of the timer that measures this process's event-loop lag. */
const HEARTBEAT_MS = 50;

/** Reads a process's VmRSS, VmHWM and open descriptors; `null` once it is gone. */
export async function sampleProcess(pid: number): Promise<HubSample | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    let fds = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
    return {
      rssKiB: parseStatusKiB(status, "VmRSS") ?? 0,
      hwmKiB: parseStatusKiB(status, "VmHWM") ?? 0,
      fds,
    };
  } catch {
    return null;
  }
}

/**
 * Reads {@linkcode TCP_COUNTERS} from the text of /proc/net/netstat, where
 * each `TcpExt:` line of names is followed by one of values.
 *
 * @example
 * ```ts
 * import { parseTcpCounters } from "./watch.ts";
 * const text = "TcpExt: ListenOverflows TCPTimeouts\nTcpExt: 3 7\n";
 * if (parseTcpCounters(text).TCPTimeouts !== 7) throw new Error("Expected 7");
 * ```
 */
export function parseTcpCounters(text: string): Record<TcpCounter, number> {
  const lines = text.split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const counters = {} as Record<TcpCounter, number>;
  for (const name of TCP_COUNTERS) {
    const at = names.indexOf(name);
    counters[name] = at < 0 ? 0 : Number(values[at] ?? 0);
  }
  return counters;
}

/** The system-wide {@linkcode TCP_COUNTERS} now; all 0 where unreadable. */
export async function tcpCounters(): Promise<Record<TcpCounter, number>> {
  try {
    return parseTcpCounters(await Deno.readTextFile("/proc/net/netstat"));
  } catch {
    return parseTcpCounters("");
  }
}

/** Keeps fresh readings of the hub process `pid` until stopped. */
export class SoakWatch {
  /** The latest complete reading. */
  latest: WatchReading;
  /** The highest of each hub figure seen while {@linkcode tracking}. */
  readonly peak: HubSample = { rssKiB: 0, hwmKiB: 0, fds: 0 };
  /** Whether readings count towards {@linkcode peak}. */
  tracking = true;
  #pid: number;
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastBeat = performance.now();
  #lag = 0;
  #slowest: SlowRead = { what: "", ms: 0 };

  private constructor(pid: number, first: WatchReading) {
    this.#pid = pid;
    this.latest = first;
  }

  /** Takes a first reading, then keeps reading in the background. */
  static async start(pid: number): Promise<SoakWatch> {
    const watch = new SoakWatch(pid, await readAll(pid, () => {}));
    watch.#heartbeat = setInterval(() => {
      const now = performance.now();
      watch.#lag = Math.max(watch.#lag, now - watch.#lastBeat - HEARTBEAT_MS);
      watch.#lastBeat = now;
    }, HEARTBEAT_MS);
    watch.#loop = watch.#run();
    return watch;
  }

  /** A reading now, waited for; it also counts towards the peak. */
  async read(): Promise<WatchReading> {
    const reading = await readAll(this.#pid, this.#timed);
    this.#track(reading);
    return reading;
  }

  /** The largest event-loop lag since the last call, ms. */
  takeLag(): number {
    const lag = this.#lag;
    this.#lag = 0;
    return lag;
  }

  /** The slowest read since the last call. */
  takeSlowest(): SlowRead {
    const slowest = this.#slowest;
    this.#slowest = { what: "", ms: 0 };
    return slowest;
  }

  /** Stops reading; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      this.latest = await readAll(this.#pid, this.#timed);
      this.#track(this.latest);
      await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS));
    }
  }

  #track(reading: WatchReading): void {
    if (!this.tracking || reading.hub === null) return;
    this.peak.rssKiB = Math.max(this.peak.rssKiB, reading.hub.rssKiB);
    this.peak.hwmKiB = Math.max(this.peak.hwmKiB, reading.hub.hwmKiB);
    this.peak.fds = Math.max(this.peak.fds, reading.hub.fds);
  }

  #timed = (what: string, ms: number): void => {
    if (ms > this.#slowest.ms) this.#slowest = { what, ms };
  };
}

async function readAll(
  pid: number,
  timed: (what: string, ms: number) => void,
): Promise<WatchReading> {
  const time = async <T>(what: string, read: Promise<T>): Promise<T> => {
    const start = performance.now();
    const value = await read;
    timed(what, performance.now() - start);
    return value;
  };
  const [hubCpuMs, selfCpuMs] = await Promise.all([
    time(`/proc/${pid}/stat`, cpuTimeMs(pid)),
    time("/proc/self/stat", cpuTimeMs("self")),
  ]);
  // CPU times are paired with the moment they were read, not with the rest.
  const at = performance.now();
  const [hub, tcp] = await Promise.all([
    time(`/proc/${pid}/status and fd`, sampleProcess(pid)),
    time("/proc/net/netstat", tcpCounters()),
  ]);
  return { at, hub, hubCpuMs, selfCpuMs, tcp };
}
