/**
 * The connection-scale run of `msghub bench --connections N`: N idle clients
 * connect and register, in waves, against a msghub hub or a nats-server,
 * while the server's resident memory and open file descriptors are read from
 * /proc. Each wave reports the connect rate, the memory per connection over
 * the idle baseline, the time a `list` naming every client takes (msghub
 * only), and what is left once every client has left; a second wave shows
 * whether the memory not handed back is reused.
 *
 * @module
 */
import type { Address } from "./driver.ts";
import { parseStatusKiB } from "./proc.ts";
import { percentile } from "./stats.ts";

/** Which server a connection-scale run drives. */
export type ScaleServer = "msghub" | "nats";

/** Options of {@linkcode runConnections}. */
export interface ConnectionsOptions {
  /** The kind of server: how a client registers. */
  server: ScaleServer;
  /** Where it listens. */
  address: Address;
  /** Its process, for memory and file descriptors. */
  pid: number;
  /** Clients per wave. */
  count: number;
  /** Connects in flight at once; `count` for a burst. */
  parallel: number;
  /** Waves of `count` clients, one after the other. */
  waves: number;
  /** Called with a line of progress. */
  onProgress?: (line: string) => void;
}

/** Kernel counters of the listen queue, system-wide, over one wave. */
export interface ListenCounters {
  /** Connections completed while the accept queue was full (TcpExt). */
  listenOverflows: number;
  /** SYNs and connections dropped at a listening socket (TcpExt). */
  listenDrops: number;
  /** SYNs answered with a cookie because the SYN queue was full. */
  synCookies: number;
}

/** What one wave measured. */
export interface WaveResult {
  /** Clients connected and registered (answered) in this wave. */
  connected: number;
  /** Connects that failed. */
  failed: number;
  /** From the first connect to the last answer, in ms. */
  connectMs: number;
  /** Clients registered per second. */
  perSecond: number;
  /** Time from connect to answer of one client: p50, p99 and max, in us. */
  connectP50Us: number;
  /** See `connectP50Us`. */
  connectP99Us: number;
  /** See `connectP50Us`. */
  connectMaxUs: number;
  /** The server's RSS with every client of the wave connected, in KiB. */
  rssKiB: number;
  /** Its open file descriptors then. */
  fds: number;
  /** (RSS - idle baseline) / clients, in bytes. */
  bytesPerConnection: number;
  /** A LIST answered with every id: median and slowest of 5, in us (msghub). */
  listUs: { median: number; max: number } | null;
  /** From closing every client until the server's fds are back, in ms. */
  leaveMs: number;
  /** Its open file descriptors once they left. */
  fdsAfter: number;
  /** Its RSS once they left, in KiB. */
  rssAfterKiB: number;
  /** Kernel listen-queue counters over the wave's connects. */
  kernel: ListenCounters;
}

/** Everything a connection-scale run measured. */
export interface ConnectionsResult {
  /** The server driven. */
  server: ScaleServer;
  /** Clients per wave. */
  count: number;
  /** Connects in flight at once. */
  parallel: number;
  /** The server's RSS before the first wave, in KiB. */
  baselineRssKiB: number;
  /** Its open file descriptors then. */
  baselineFds: number;
  /** Its peak RSS (VmHWM) at the end, in KiB. */
  peakRssKiB: number;
  /** One per wave. */
  waves: WaveResult[];
}

const IDENTITY = new Uint8Array([0x02, 0, 0, 0, 0]);
const LIST = new Uint8Array([0x03, 0, 0, 0, 0]);
const NATS_HELLO = new TextEncoder().encode(
  'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n',
);
const PONG_TAIL = [0x50, 0x4f, 0x4e, 0x47, 0x0d, 0x0a]; // "PONG\r\n"

/** The server's RSS in KiB, or 0 when it cannot be read. */
async function rssKiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return parseStatusKiB(status, "VmRSS") ?? 0;
  } catch {
    return 0;
  }
}

async function hwmKiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return parseStatusKiB(status, "VmHWM") ?? 0;
  } catch {
    return 0;
  }
}

/** The server's open file descriptors, or -1 when they cannot be read. */
export async function countFds(pid: number | "self"): Promise<number> {
  try {
    let n = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
    return n;
  } catch {
    return -1;
  }
}

/**
 * The TcpExt counters of /proc/net/netstat's text, by name.
 *
 * @example
 * ```ts
 * import { parseNetstat } from "./connections.ts";
 * const text = "TcpExt: SyncookiesSent ListenOverflows\nTcpExt: 3 7\n";
 * if (parseNetstat(text).get("ListenOverflows") !== 7) throw new Error("Wrong");
 * ```
 */
export function parseNetstat(text: string): Map<string, number> {
  const lines = text.split("\n");
  const out = new Map<string, number>();
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith("TcpExt:")) continue;
    const names = lines[i]!.split(/\s+/).slice(1);
    const values = lines[i + 1]!.split(/\s+/).slice(1);
    names.forEach((name, j) => out.set(name, Number(values[j])));
    break;
  }
  return out;
}

async function listenCounters(): Promise<ListenCounters> {
  let text = "";
  try {
    text = await Deno.readTextFile("/proc/net/netstat");
  } catch {
    // Not Linux: zeros.
  }
  const map = parseNetstat(text);
  return {
    listenOverflows: map.get("ListenOverflows") ?? 0,
    listenDrops: map.get("ListenDrops") ?? 0,
    synCookies: map.get("SyncookiesSent") ?? 0,
  };
}

function endsWithPong(bytes: Uint8Array, length: number): boolean {
  if (length < PONG_TAIL.length) return false;
  for (let i = 0; i < PONG_TAIL.length; i++) {
    if (bytes[length - PONG_TAIL.length + i] !== PONG_TAIL[i]) return false;
  }
  return true;
}

/**
 * Connects one client and waits until the server has registered it: the
 * IDENTITY reply of a hub, the PONG after CONNECT of nats-server.
 */
async function connectOne(
  server: ScaleServer,
  address: Address,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ ...address, transport: "tcp" });
  try {
    conn.setNoDelay(true);
    if (server === "msghub") {
      await conn.write(IDENTITY);
      const buf = new Uint8Array(16);
      let got = 0;
      while (got < 13) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) throw new Error("Connection closed before IDENTITY");
        got += n;
      }
      if (buf[0] !== 0x82) throw new Error(`Unexpected reply kind ${buf[0]}`);
    } else {
      await conn.write(NATS_HELLO);
      const buf = new Uint8Array(4096);
      let got = 0;
      while (!endsWithPong(buf, got)) {
        if (got === buf.length) got = 0; // the INFO line is not needed
        const n = await conn.read(buf.subarray(got));
        if (n === null) throw new Error("Connection closed before PONG");
        got += n;
      }
    }
    return conn;
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** Times a LIST answered with `ids` ids, in us. */
async function timeList(conn: Deno.TcpConn, ids: number): Promise<number> {
  const want = 5 + 8 * ids;
  const buf = new Uint8Array(64 * 1024);
  const start = performance.now();
  await conn.write(LIST);
  let got = 0;
  while (got < want) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("Connection closed before LIST reply");
    got += n;
  }
  if (got !== want) {
    throw new Error(`LIST reply of ${got} bytes, expected ${want}`);
  }
  return (performance.now() - start) * 1000;
}

async function until(
  done: () => Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return await done();
}

const delta = (a: ListenCounters, b: ListenCounters): ListenCounters => ({
  listenOverflows: b.listenOverflows - a.listenOverflows,
  listenDrops: b.listenDrops - a.listenDrops,
  synCookies: b.synCookies - a.synCookies,
});

/**
 * Runs `options.waves` waves of `options.count` idle clients against a
 * running server and measures it; see {@linkcode ConnectionsResult}.
 *
 * @example Two small waves against a hub of one's own
 * ```ts ignore
 * import { runConnections, startHub } from "./mod.ts";
 * await using hub = await startHub(false);
 * const result = await runConnections({
 *   server: "msghub", address: hub.address, pid: hub.pid,
 *   count: 100, parallel: 10, waves: 2,
 * });
 * console.log(result.waves[0]!.perSecond);
 * ```
 */
export async function runConnections(
  options: ConnectionsOptions,
): Promise<ConnectionsResult> {
  const { server, address, pid, count } = options;
  const progress = options.onProgress ?? (() => {});
  // The lister is part of the baseline: it is there before and after.
  const lister = server === "msghub" ? await connectOne(server, address) : null;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const baselineRssKiB = await rssKiB(pid);
  const baselineFds = await countFds(pid);
  const waves: WaveResult[] = [];
  try {
    for (let wave = 1; wave <= options.waves; wave++) {
      const conns: Deno.TcpConn[] = [];
      const times: number[] = [];
      let failed = 0;
      let firstError = "";
      let next = 0;
      const before = await listenCounters();
      const start = performance.now();
      const worker = async () => {
        while (next < count) {
          next++;
          const t = performance.now();
          try {
            conns.push(await connectOne(server, address));
            times.push((performance.now() - t) * 1000);
          } catch (error) {
            failed++;
            firstError ||= (error as Error).message;
          }
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(options.parallel, count) }, worker),
      );
      const connectMs = performance.now() - start;
      const kernel = delta(before, await listenCounters());
      const rss = await rssKiB(pid);
      const fds = await countFds(pid);
      progress(
        `${server} wave ${wave}: ${conns.length} connected in ${
          connectMs.toFixed(0)
        } ms${failed > 0 ? `, ${failed} failed (${firstError})` : ""}`,
      );
      let listUs: WaveResult["listUs"] = null;
      if (lister !== null) {
        const lists: number[] = [];
        for (let i = 0; i < 5; i++) {
          lists.push(await timeList(lister, conns.length));
        }
        lists.sort((a, b) => a - b);
        listUs = { median: lists[2]!, max: lists[4]! };
      }
      const leaving = performance.now();
      for (const conn of conns) conn.close();
      await until(async () => await countFds(pid) <= baselineFds, 20_000);
      const leaveMs = performance.now() - leaving;
      await new Promise((resolve) => setTimeout(resolve, 500));
      times.sort((a, b) => a - b);
      waves.push({
        connected: conns.length,
        failed,
        connectMs,
        perSecond: conns.length / (connectMs / 1000),
        connectP50Us: percentile(times, 50),
        connectP99Us: percentile(times, 99),
        connectMaxUs: times[times.length - 1] ?? NaN,
        rssKiB: rss,
        fds,
        bytesPerConnection: conns.length === 0
          ? NaN
          : ((rss - baselineRssKiB) * 1024) / conns.length,
        listUs,
        leaveMs,
        fdsAfter: await countFds(pid),
        rssAfterKiB: await rssKiB(pid),
        kernel,
      });
    }
  } finally {
    lister?.close();
  }
  return {
    server,
    count,
    parallel: options.parallel,
    baselineRssKiB,
    baselineFds,
    peakRssKiB: await hwmKiB(pid),
    waves,
  };
}
