/**
 * Runs one workload against one server: connects, starts a read loop per
 * connection and a send loop per sender, reports progress every second,
 * settles, and measures. Library code: it never prints, it calls back.
 *
 * @module
 */
import type { Address, Driver, Link, Peer } from "./driver.ts";
import type { Workload } from "./presets.ts";
import { coreBusyPercent, coreTimes, cpuTimeMs, peakRssKiB } from "./proc.ts";
import { type Flow, sendLoop, Signal, type Tracked } from "./sender.ts";
import { stampLength } from "./stamp.ts";
import type { Transport } from "./wire.ts";
import {
  cpuPercent,
  LatencyHistogram,
  megabytesPerSecond,
  perSecond,
} from "./stats.ts";

/**
 * By default settling ends once nothing was delivered for this long: long
 * enough for a server on a busy shared core to catch up, and it costs a run
 * that lost nothing no time at all.
 */
export const DEFAULT_SETTLE_MS = 3000;
/** Generator CPU use, in percent of one core, from which it may be the bottleneck. */
export const SATURATED_PERCENT = 90;
/** Busy share of the generator's pinned core from which it may be the bottleneck. */
export const SATURATED_CORE_PERCENT = 95;
const READ_BYTES = 128 * 1024;

/** Where a run stands; passed to `onProgress` every second. */
export interface Progress {
  /** Time since the first send. */
  elapsedMs: number;
  /** Messages sent (relays or PUBs), all senders together. */
  sent: number;
  /** Messages delivered, all receivers together. */
  delivered: number;
  /** Delivered messages per second over the last interval. */
  deliveredPerSec: number;
}

/** What {@linkcode runBench} needs. */
export interface RunOptions {
  /** Speaks the server's protocol: msghub's or NATS's. */
  driver: Driver;
  /** Where receivers connect, and senders too unless `senderAddress` is set. */
  address: Address;
  /**
   * How connections reach the server; `"tcp"` by default. With `"ws"` the
   * addresses are the server's WebSocket listeners.
   */
  transport?: Transport;
  /** Where senders connect: another hub of the receivers' cluster. */
  senderAddress?: Address;
  /** What to send, how fast, and for how long. */
  workload: Workload;
  /** A server process on this machine to watch: its CPU use and peak RSS. */
  serverPid?: number;
  /** The cores the generator and the server are pinned to, to watch them. */
  cores?: { generator: number; server: number };
  /** Called once a second while the run lasts. */
  onProgress?: (progress: Progress) => void;
  /** Silence after the last send that ends the settle; default {@linkcode DEFAULT_SETTLE_MS}. */
  settleMs?: number;
}

/** Latency percentiles, in microseconds. */
export interface LatencySummary {
  /** Messages whose latency was measured. */
  samples: number;
  /**
   * Distinct send times among them: the senders' writes (every message of
   * one write is stamped with the time of that write).
   */
  sendTimes: number;
  /** The median. */
  p50Us: number;
  /** The 99th percentile. */
  p99Us: number;
  /** The largest seen. */
  maxUs: number;
}

/** The figures of one run. */
export interface BenchResult {
  /** The kind of server measured. */
  server: "msghub" | "nats";
  /** Its address, as `HOST:PORT`. */
  address: string;
  /** How the generator's connections reached it. */
  transport: Transport;
  /** What was sent. */
  workload: Workload;
  /** Messages sent, all senders together. */
  sent: number;
  /** Fewest and most messages one sender sent: far apart, the server was unfair. */
  sentPerSender: { min: number; max: number };
  /** Sent times receivers: what should have been delivered. */
  expected: number;
  /** Messages delivered, all receivers together. */
  delivered: number;
  /** `expected - delivered` after settling. */
  undelivered: number;
  /** Body bytes delivered, all receivers together. */
  bodyBytes: number;
  /** From the first send to the last sender's last write. */
  sendMs: number;
  /** From the first send to the last delivery. */
  elapsedMs: number;
  /** Messages sent per second over `sendMs`. */
  sentPerSec: number;
  /** Messages delivered per second over `elapsedMs`. */
  deliveredPerSec: number;
  /** Delivered body bytes per second, in MB (10^6 bytes). */
  megabytesPerSec: number;
  /**
   * Latency over every stamped message; `null` when bodies were too small for a
   * stamp.
   */
  latency: LatencySummary | null;
  /** Generator CPU use over the run, in percent of one core. */
  generatorCpuPercent: number | null;
  /**
   * Busy share of the generator's core, kernel work included (loopback TCP
   * runs in softirq time that no process is charged for); `null` unpinned.
   */
  generatorCoreBusyPercent: number | null;
  /** Whether the generator or its core was near full: it may have been the bottleneck. */
  generatorSaturated: boolean;
  /**
   * Server CPU use over the run, in percent of one core; `null` when it was not
   * watched.
   */
  serverCpuPercent: number | null;
  /** Busy share of the server's core; `null` unpinned. */
  serverCoreBusyPercent: number | null;
  /**
   * The server's peak RSS (`VmHWM`), in KiB; `null` when it was not watched.
   */
  serverPeakRssKiB: number | null;
  /** Connections the server closed, grouped by reason: "3 x error 3 slow consumer". */
  closes: string[];
  /** Whether a sender gave up waiting for its receivers. */
  stalled: boolean;
}

async function readLoop(
  tracked: Tracked,
  flow: Flow,
  pong: Uint8Array,
): Promise<void> {
  const { wire, walker } = tracked.peer;
  const buf = new Uint8Array(READ_BYTES);
  let nowUs = 0;
  // Made once: a WebSocket read may carry several pieces of stream.
  const feed = (bytes: Uint8Array) => walker.feed(bytes, nowUs);
  try {
    while (true) {
      const n = await wire.read(buf);
      if (n === null) break;
      const now = performance.now();
      const before = walker.delivered;
      nowUs = Math.round((now - flow.t0) * 1000);
      const open = wire.unwrap(buf.subarray(0, n), feed);
      if (walker.delivered !== before) flow.lastDelivery = now;
      if (!open) break;
      if (walker.error !== null) break;
      if (walker.pings > 0) {
        const answers = walker.pings;
        walker.pings = 0;
        // Not awaited: a sender's PONG waits behind its batch in flight.
        for (let i = 0; i < answers; i++) wire.write(pong).catch(() => {});
      }
      flow.signal.notify();
    }
  } catch {
    // Closed by us at the end, or reset by the server: either ends the loop.
  }
  tracked.alive = false;
  flow.signal.notify();
}

function track(peer: Peer): Tracked {
  return { peer, alive: true, sent: 0, writes: 0 };
}

/** Connections the server closed, grouped by reason. */
function describeCloses(all: Tracked[]): string[] {
  const counts = new Map<string, number>();
  for (const tracked of all) {
    const error = tracked.peer.walker.error;
    let reason: string | null = null;
    if (error !== null) reason = `error ${error.code} ${error.message}`.trim();
    else if (!tracked.alive) reason = "closed by the server";
    if (reason !== null) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].map(([reason, n]) => `${n} x ${reason}`);
}

function sum(tracked: Tracked[], pick: (t: Tracked) => number): number {
  let total = 0;
  for (const t of tracked) total += pick(t);
  return total;
}

/**
 * Runs `workload` against the server at `address` and resolves to its
 * figures. Throws only when the connections cannot be set up.
 */
export async function runBench(options: RunOptions): Promise<BenchResult> {
  const { driver, address, workload } = options;
  const transport = options.transport ?? "tcp";
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const histogram = new LatencyHistogram();
  const stamp = stampLength(workload.size);
  const links: Link[] = await driver.connect(address, {
    shape: workload,
    histogram,
    stampLength: stamp,
    transport,
    ...(options.senderAddress === undefined
      ? {}
      : { senderAddress: options.senderAddress }),
  });
  const groups = links.map((link) => ({
    link,
    sender: track(link.sender),
    receivers: link.receivers.map(track),
  }));
  const receivers = groups.flatMap((g) => g.receivers);
  const everyone = [...receivers, ...groups.map((g) => g.sender)];
  const serverPid = options.serverPid;
  const cpu0 = await cpuTimeMs();
  const serverCpu0 = serverPid === undefined
    ? null
    : await cpuTimeMs(serverPid);
  const cores = options.cores;
  const generatorCore0 = cores === undefined
    ? null
    : await coreTimes(cores.generator);
  const serverCore0 = cores === undefined
    ? null
    : await coreTimes(cores.server);
  const flow: Flow = {
    t0: performance.now(),
    lastDelivery: 0,
    signal: new Signal(),
    stalled: false,
    stampLength: stamp,
  };
  flow.lastDelivery = flow.t0;
  const reading = everyone.map((t) => readLoop(t, flow, driver.pong));

  let lastTick = flow.t0;
  let lastDelivered = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const delivered = sum(receivers, (t) => t.peer.walker.delivered);
    options.onProgress?.({
      elapsedMs: now - flow.t0,
      sent: sum(groups.map((g) => g.sender), (t) => t.sent),
      delivered,
      deliveredPerSec: perSecond(delivered - lastDelivered, now - lastTick),
    });
    lastTick = now;
    lastDelivered = delivered;
  }, 1000);

  let sendEnd = flow.t0;
  try {
    await Promise.all(groups.map(async (g) => {
      await sendLoop({
        link: g.link,
        sender: g.sender,
        receivers: g.receivers,
        workload,
        flow,
      });
      sendEnd = Math.max(sendEnd, performance.now());
    }));
    // Settle: wait for every live receiver to catch up, or for silence.
    while (true) {
      const behind = groups.some((g) =>
        g.receivers.some((r) =>
          r.alive && r.peer.walker.delivered < g.sender.sent
        )
      );
      if (!behind) break;
      const idle = performance.now() - Math.max(flow.lastDelivery, sendEnd);
      if (idle >= settleMs) break;
      await flow.signal.wait(settleMs - idle);
    }
  } finally {
    clearInterval(ticker);
  }
  const end = performance.now();
  const cpu1 = await cpuTimeMs();
  const serverCpu1 = serverPid === undefined
    ? null
    : await cpuTimeMs(serverPid);
  const generatorCore1 = cores === undefined
    ? null
    : await coreTimes(cores.generator);
  const serverCore1 = cores === undefined
    ? null
    : await coreTimes(cores.server);
  const serverRss = serverPid === undefined
    ? null
    : await peakRssKiB(serverPid);
  const closes = describeCloses(everyone);
  for (const t of everyone) t.peer.wire.close();
  await Promise.all(reading);

  const sent = sum(groups.map((g) => g.sender), (t) => t.sent);
  const each = groups.map((g) => g.sender.sent);
  const expected = sum(
    groups.map((g) => g.sender),
    (t) => t.sent * workload.receivers,
  );
  const delivered = sum(receivers, (t) => t.peer.walker.delivered);
  const bodyBytes = sum(receivers, (t) => t.peer.walker.bodyBytes);
  const elapsedMs = Math.max(flow.lastDelivery, sendEnd) - flow.t0;
  const generatorCpuPercent = cpu0 === null || cpu1 === null
    ? null
    : cpuPercent(cpu1 - cpu0, end - flow.t0);
  const generatorCoreBusyPercent = coreBusyPercent(
    generatorCore0,
    generatorCore1,
  );
  return {
    server: driver.name,
    address: `${address.hostname}:${address.port}`,
    transport,
    workload,
    sent,
    sentPerSender: { min: Math.min(...each), max: Math.max(...each) },
    expected,
    delivered,
    undelivered: expected - delivered,
    bodyBytes,
    sendMs: sendEnd - flow.t0,
    elapsedMs,
    sentPerSec: perSecond(sent, sendEnd - flow.t0),
    deliveredPerSec: perSecond(delivered, elapsedMs),
    megabytesPerSec: megabytesPerSecond(bodyBytes, elapsedMs),
    latency: histogram.count === 0 ? null : {
      samples: histogram.count,
      sendTimes: sum(groups.map((g) => g.sender), (t) => t.writes),
      p50Us: histogram.percentile(50),
      p99Us: histogram.percentile(99),
      maxUs: histogram.max,
    },
    generatorCpuPercent,
    generatorCoreBusyPercent,
    generatorSaturated: (generatorCpuPercent ?? 0) >= SATURATED_PERCENT ||
      (generatorCoreBusyPercent ?? 0) >= SATURATED_CORE_PERCENT,
    serverCpuPercent: serverCpu0 === null || serverCpu1 === null
      ? null
      : cpuPercent(serverCpu1 - serverCpu0, end - flow.t0),
    serverCoreBusyPercent: coreBusyPercent(serverCore0, serverCore1),
    serverPeakRssKiB: serverRss,
    closes,
    stalled: flow.stalled,
  };
}
