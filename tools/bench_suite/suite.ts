/**
 * The benchmark suite's arithmetic: runs grouped by workload and server,
 * medians over rounds, and msghub / NATS ratios. Pure code.
 *
 * @module
 */
import { type BenchResult, median, ratio } from "../../bench/mod.ts";

/**
 * The servers the suite compares: one msghub hub, nats-server, and two msghub
 * hubs in a cluster (senders on one, receivers on the other), over TCP; and
 * one msghub hub and nats-server reached over WebSocket.
 */
export type ServerName =
  | "msghub"
  | "nats"
  | "cluster"
  | "msghub-ws"
  | "nats-ws";

/** One run of the suite: a workload against a server in a round. */
export interface SuiteRun {
  /** The workload's label: "a", or "a @ 1,000/s". */
  label: string;
  /** The server measured. */
  server: ServerName;
  /** The round, from 1. */
  round: number;
  /** The run's figures, or `null` when it failed. */
  result: BenchResult | null;
  /** Why it failed. */
  error?: string;
}

/** Medians over the rounds of one workload against one server. */
export interface SuiteRow {
  /** The workload's label. */
  label: string;
  /** The server measured. */
  server: ServerName;
  /** Rounds that produced figures. */
  runs: number;
  /** Rounds that failed outright. */
  failed: number;
  /** Median delivered messages per second. */
  deliveredPerSec: number;
  /** Median delivered body MB (10^6 bytes) per second. */
  megabytesPerSec: number;
  /** Median p50 latency, in microseconds. */
  p50Us: number;
  /** Median p99 latency, in microseconds. */
  p99Us: number;
  /** The largest latency seen in any round. */
  maxUs: number;
  /** Median generator CPU use, in percent of one core. */
  generatorCpuPercent: number;
  /** Median busy share of the generator's core. */
  generatorCoreBusyPercent: number;
  /** Median server CPU use, in percent of one core. */
  serverCpuPercent: number;
  /** The largest peak RSS of any round, in KiB. */
  serverPeakRssKiB: number;
  /** Undelivered messages, all rounds together. */
  undelivered: number;
  /** Rounds in which the generator was near a full core. */
  saturatedRuns: number;
  /** Most / fewest messages sent by one sender, median over rounds; 1 is fair. */
  senderSpread: number;
  /** Server-side closes and stalls, every round, without repeats. */
  problems: string[];
}

function medianOf(
  results: readonly BenchResult[],
  pick: (r: BenchResult) => number | null,
): number {
  const values: number[] = [];
  for (const r of results) {
    const value = pick(r);
    if (value !== null && Number.isFinite(value)) values.push(value);
  }
  return median(values);
}

/**
 * Groups runs by label and server, in the order first seen, with medians.
 *
 * @example
 * ```ts
 * import { summarize } from "./suite.ts";
 * const rows = summarize([
 *   { label: "a", server: "nats", round: 1, result: null, error: "no server" },
 * ]);
 * if (rows[0]?.failed !== 1 || rows[0].runs !== 0) throw new Error("Wrong counts");
 * ```
 */
export function summarize(runs: readonly SuiteRun[]): SuiteRow[] {
  const groups = new Map<string, SuiteRun[]>();
  for (const run of runs) {
    const key = `${run.label}\u0000${run.server}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [run]);
    else group.push(run);
  }
  const rows: SuiteRow[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const results = group.flatMap((run) =>
      run.result === null ? [] : [run.result]
    );
    const problems = new Set<string>();
    for (const run of group) {
      if (run.error !== undefined) {
        problems.add(`round ${run.round}: ${run.error}`);
      }
    }
    for (const r of results) {
      for (const close of r.closes) problems.add(`closed: ${close}`);
      if (r.stalled) problems.add("a sender stalled");
    }
    rows.push({
      label: first.label,
      server: first.server,
      runs: results.length,
      failed: group.length - results.length,
      deliveredPerSec: medianOf(results, (r) => r.deliveredPerSec),
      megabytesPerSec: medianOf(results, (r) => r.megabytesPerSec),
      p50Us: medianOf(results, (r) => r.latency?.p50Us ?? null),
      p99Us: medianOf(results, (r) => r.latency?.p99Us ?? null),
      maxUs: Math.max(0, ...results.map((r) => r.latency?.maxUs ?? 0)),
      generatorCpuPercent: medianOf(results, (r) => r.generatorCpuPercent),
      generatorCoreBusyPercent: medianOf(
        results,
        (r) => r.generatorCoreBusyPercent,
      ),
      serverCpuPercent: medianOf(results, (r) => r.serverCpuPercent),
      serverPeakRssKiB: Math.max(
        0,
        ...results.map((r) => r.serverPeakRssKiB ?? 0),
      ),
      undelivered: results.reduce((n, r) => n + r.undelivered, 0),
      saturatedRuns: results.filter((r) => r.generatorSaturated).length,
      senderSpread: medianOf(
        results,
        (r) => ratio(r.sentPerSender.max, r.sentPerSender.min),
      ),
      problems: [...problems],
    });
  }
  return rows;
}

/** One workload's msghub and NATS rows side by side. */
export interface Comparison {
  /** The workload's label. */
  label: string;
  /** msghub's row, or `null` when it has none. */
  msghub: SuiteRow | null;
  /** NATS's row, or `null` when it has none. */
  nats: SuiteRow | null;
  /** msghub / NATS delivered messages per second: above 1, msghub is faster. */
  throughputRatio: number;
  /** msghub / NATS p50 latency: below 1, msghub is quicker. */
  p50Ratio: number;
  /** msghub / NATS p99 latency. */
  p99Ratio: number;
}

/** One workload on one hub and across two hubs of a cluster. */
export interface ClusterComparison {
  /** The workload's label. */
  label: string;
  /** The row on one hub. */
  one: SuiteRow;
  /** The row across two hubs. */
  two: SuiteRow;
  /** Delivered msgs/s across two hubs / on one hub. */
  ratio: number;
}

/**
 * Pairs each workload run both on one hub and across two.
 *
 * @example
 * ```ts
 * import { clusterCompare, summarize } from "./suite.ts";
 * const rows = summarize([
 *   { label: "b", server: "msghub", round: 1, result: null, error: "x" },
 * ]);
 * if (clusterCompare(rows).length !== 0) throw new Error("No cluster run");
 * ```
 */
export function clusterCompare(
  rows: readonly SuiteRow[],
): ClusterComparison[] {
  const out: ClusterComparison[] = [];
  for (const two of rows) {
    if (two.server !== "cluster") continue;
    const one = rows.find((row) =>
      row.label === two.label && row.server === "msghub"
    );
    if (one === undefined) continue;
    out.push({
      label: two.label,
      one,
      two,
      ratio: ratio(two.deliveredPerSec, one.deliveredPerSec),
    });
  }
  return out;
}

/**
 * Pairs rows by label, in the order first seen: msghub's and NATS's over
 * TCP, or over WebSocket with `transport` `"ws"`.
 *
 * @example
 * ```ts
 * import { compare, summarize } from "./suite.ts";
 * const comparisons = compare(summarize([]));
 * if (comparisons.length !== 0) throw new Error("Expected nothing");
 * ```
 */
export function compare(
  rows: readonly SuiteRow[],
  transport: "tcp" | "ws" = "tcp",
): Comparison[] {
  const ws = transport === "ws";
  const wanted = ws ? ["msghub-ws", "nats-ws"] : ["msghub", "nats"];
  const labels = [
    ...new Set(
      rows.filter((row) => wanted.includes(row.server)).map((row) => row.label),
    ),
  ];
  return labels.map((label) => {
    const find = (server: ServerName) =>
      rows.find((row) => row.label === label && row.server === server) ?? null;
    const msghub = find(ws ? "msghub-ws" : "msghub");
    const nats = find(ws ? "nats-ws" : "nats");
    return {
      label,
      msghub,
      nats,
      throughputRatio: ratio(
        msghub?.deliveredPerSec ?? NaN,
        nats?.deliveredPerSec ?? NaN,
      ),
      p50Ratio: ratio(msghub?.p50Us ?? NaN, nats?.p50Us ?? NaN),
      p99Ratio: ratio(msghub?.p99Us ?? NaN, nats?.p99Us ?? NaN),
    };
  });
}

/** One workload over WebSocket, for both servers, beside msghub over TCP. */
export interface WsComparison extends Comparison {
  /** msghub's row over TCP for the same workload, or `null`. */
  msghubTcp: SuiteRow | null;
  /** msghub over WebSocket / over TCP, delivered msgs/s: 1 costs nothing. */
  wsTcpRatio: number;
}

/**
 * The WebSocket rows: msghub and NATS side by side, and msghub's WebSocket
 * figure against its own TCP one.
 *
 * @example
 * ```ts
 * import { summarize, wsCompare } from "./suite.ts";
 * const rows = summarize([
 *   { label: "a", server: "msghub", round: 1, result: null, error: "x" },
 * ]);
 * if (wsCompare(rows).length !== 0) throw new Error("No WebSocket run");
 * ```
 */
export function wsCompare(rows: readonly SuiteRow[]): WsComparison[] {
  return compare(rows, "ws").map((c) => {
    const msghubTcp = rows.find((row) =>
      row.label === c.label && row.server === "msghub"
    ) ?? null;
    return {
      ...c,
      msghubTcp,
      wsTcpRatio: ratio(
        c.msghub?.deliveredPerSec ?? NaN,
        msghubTcp?.deliveredPerSec ?? NaN,
      ),
    };
  });
}
