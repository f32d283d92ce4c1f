/**
 * `msghub client ping`: round trips to the hub, like `nats rtt`. Each is
 * one protocol PING answered by the hub's PONG, sent once the previous one
 * is back, so every figure is one quiet round trip.
 *
 * @module
 */
import type { HubClient } from "./_hub_client.ts";
import type { Output } from "./_io.ts";

/** What `ping` measures and how it reports. */
export interface PingOptions {
  /** Round trips to measure. */
  count: number;
  /** One JSON object at the end instead of a line per round trip. */
  json: boolean;
  /** The hub as messages name it. */
  label: string;
}

/** The round trips of a run, in milliseconds, and their summary. */
export interface PingSummary {
  /** Each round trip, in order. */
  rtts: number[];
  /** The shortest. */
  min: number;
  /** The mean. */
  avg: number;
  /** The longest. */
  max: number;
}

/**
 * The minimum, average and maximum of `rtts` (at least one).
 *
 * @example
 * ```ts
 * import { summarise } from "./_ping.ts";
 * const { min, avg, max } = summarise([1, 2, 6]);
 * if (min !== 1 || avg !== 3 || max !== 6) throw new Error("Wrong summary");
 * ```
 */
export function summarise(rtts: readonly number[]): PingSummary {
  let sum = 0;
  for (const rtt of rtts) sum += rtt;
  return {
    rtts: [...rtts],
    min: Math.min(...rtts),
    avg: sum / rtts.length,
    max: Math.max(...rtts),
  };
}

/** Milliseconds to microsecond precision, as printed. */
function ms(value: number): string {
  return value.toFixed(3);
}

/** Milliseconds to microsecond precision, as a JSON number. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The last line of `ping`.
 *
 * @example
 * ```ts
 * import { summaryLine, summarise } from "./_ping.ts";
 * const line = summaryLine(summarise([0.5, 1.5]), "127.0.0.1:1234");
 * if (line !== "2 round trips to 127.0.0.1:1234: min/avg/max 0.500/1.000/1.500 ms") {
 *   throw new Error(line);
 * }
 * ```
 */
export function summaryLine(summary: PingSummary, label: string): string {
  const { rtts, min, avg, max } = summary;
  const trips = rtts.length === 1 ? "round trip" : "round trips";
  return `${rtts.length} ${trips} to ${label}: min/avg/max ${ms(min)}/${
    ms(avg)
  }/${ms(max)} ms`;
}

/**
 * The object `ping --json` prints, times in milliseconds.
 *
 * @example
 * ```ts
 * import { pingJson, summarise } from "./_ping.ts";
 * const line = pingJson(summarise([0.5, 1.5]), "127.0.0.1:1234");
 * if (JSON.parse(line).avg_ms !== 1) throw new Error(line);
 * ```
 */
export function pingJson(summary: PingSummary, label: string): string {
  return JSON.stringify({
    hub: label,
    count: summary.rtts.length,
    rtt_ms: summary.rtts.map(round),
    min_ms: round(summary.min),
    avg_ms: round(summary.avg),
    max_ms: round(summary.max),
  });
}

/**
 * Measures `options.count` round trips and prints them; resolves to the
 * exit code, 0. A hub that stops answering fails the PING in flight (the
 * client's own liveness timer, or the connection closing).
 *
 * @example
 * ```ts
 * import { ping } from "./_ping.ts";
 * import { Output } from "./_io.ts";
 * import { connect } from "../../client/mod.ts";
 * import { serve } from "../../hub/mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using client = await connect({ port: hub.addr.port });
 * const lines: string[] = [];
 * const stdout = new Output({
 *   write: (p) => (lines.push(new TextDecoder().decode(p)), Promise.resolve(p.length)),
 * });
 * await ping(client, stdout, { count: 2, json: true, label: "hub" });
 * if (JSON.parse(lines[0]!).count !== 2) throw new Error(lines[0]);
 * ```
 */
export async function ping(
  client: HubClient,
  stdout: Output,
  options: PingOptions,
): Promise<number> {
  const rtts: number[] = [];
  for (let i = 1; i <= options.count; i++) {
    const start = performance.now();
    await client.ping();
    const rtt = performance.now() - start;
    rtts.push(rtt);
    if (!options.json) await stdout.line(`round trip ${i}: ${ms(rtt)} ms`);
  }
  const summary = summarise(rtts);
  await stdout.line(
    options.json
      ? pingJson(summary, options.label)
      : summaryLine(summary, options.label),
  );
  return 0;
}
