/**
 * Text for people: number formats, the progress line and the summary of a
 * run. Pure code; the CLI prints what it returns.
 *
 * @module
 */
import type { Workload } from "./presets.ts";
import {
  type BenchResult,
  type Progress,
  SATURATED_CORE_PERCENT,
  SATURATED_PERCENT,
} from "./runner.ts";

/**
 * An integer with `,` between thousands, whatever the locale.
 *
 * @example
 * ```ts
 * import { formatInt } from "./report.ts";
 * if (formatInt(1234567.4) !== "1,234,567") throw new Error("Wrong grouping");
 * ```
 */
export function formatInt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.round(Math.abs(value)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Microseconds in a readable unit: `850 us`, `1.23 ms`, `2.50 s`.
 *
 * @example
 * ```ts
 * import { formatMicros } from "./report.ts";
 * if (formatMicros(1234) !== "1.23 ms") throw new Error("Wrong unit");
 * ```
 */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return "n/a";
  if (us < 1000) return `${Math.round(us)} us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** A body size as given: `6 B`, `1,900 B`, `64 KiB`, `1 MiB`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) {
    return `${bytes / (1024 * 1024)} MiB`;
  }
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${formatInt(bytes)} B`;
}

function plural(n: number, word: string): string {
  return `${formatInt(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** One line describing a workload. */
export function describeWorkload(workload: Workload): string {
  const length = workload.count === undefined
    ? `${workload.durationMs / 1000} s`
    : `${plural(workload.count, "message")} per sender`;
  const rate = workload.rate > 0
    ? `${formatInt(workload.rate)}/s per sender`
    : "as fast as possible";
  const window = workload.window > 0 ? formatInt(workload.window) : "none";
  return `${plural(workload.senders, "sender")} x ${
    plural(workload.receivers, "receiver")
  } each, ${
    formatSize(workload.size)
  } body, ${length}, ${rate}, window ${window}`;
}

/** The progress line printed every second. */
export function progressLine(progress: Progress): string {
  return `${(progress.elapsedMs / 1000).toFixed(0).padStart(3)} s  sent ${
    formatInt(progress.sent)
  }  delivered ${formatInt(progress.delivered)}  (${
    formatInt(progress.deliveredPerSec)
  } msgs/s)`;
}

/** Where the server ran and how things were pinned, for the summary. */
export interface RunContext {
  /** "hub started by the bench, pid 123", or "server not started by the bench". */
  origin: string;
  /** "generator pinned to core 1, server to core 0", or why not. */
  pinning: string;
}

/** The summary of a run, one string per line. */
export function summaryLines(
  result: BenchResult,
  context: RunContext,
): string[] {
  const seconds = (result.elapsedMs / 1000).toFixed(2);
  const lines = [
    `${result.server} at ${result.address} (${context.origin}; ${context.pinning})`,
    `workload     ${describeWorkload(result.workload)}`,
    `transport    ${
      result.transport === "ws"
        ? "WebSocket (the same protocol in masked binary messages)"
        : "TCP"
    }`,
    `sent         ${formatInt(result.sent)} messages (${
      formatInt(result.sentPerSec)
    }/s)`,
    ...(result.workload.senders > 1
      ? [
        `per sender   ${formatInt(result.sentPerSender.min)} to ${
          formatInt(result.sentPerSender.max)
        } messages`,
      ]
      : []),
    `delivered    ${formatInt(result.delivered)} msgs in ${seconds} s: ${
      formatInt(result.deliveredPerSec)
    } msgs/s, ${result.megabytesPerSec.toFixed(2)} MB/s of body`,
    `undelivered  ${formatInt(result.undelivered)} (of ${
      formatInt(result.expected)
    } expected)`,
  ];
  const latency = result.latency;
  lines.push(
    latency === null
      ? "latency      n/a (bodies under 3 bytes carry no timestamp)"
      : `latency      p50 ${formatMicros(latency.p50Us)}, p99 ${
        formatMicros(latency.p99Us)
      }, max ${formatMicros(latency.maxUs)} (${
        plural(latency.samples, "sample")
      }, ${plural(latency.sendTimes, "send time")})`,
  );
  const cpu = result.generatorCpuPercent;
  let generator = cpu === null
    ? "generator    CPU n/a (no /proc)"
    : `generator    CPU ${cpu.toFixed(0)}% of one core`;
  if (result.generatorCoreBusyPercent !== null) {
    generator += `; its core ${
      result.generatorCoreBusyPercent.toFixed(0)
    }% busy (kernel included)`;
  }
  lines.push(generator);
  if (result.generatorSaturated) {
    lines.push(
      `WARNING: the generator was near a full core (process >= ${SATURATED_PERCENT}% ` +
        `or core >= ${SATURATED_CORE_PERCENT}%): it may have been the bottleneck`,
    );
  }
  const parts: string[] = [];
  if (result.serverCpuPercent !== null) {
    parts.push(`CPU ${result.serverCpuPercent.toFixed(0)}% of one core`);
  }
  if (result.serverCoreBusyPercent !== null) {
    parts.push(`its core ${result.serverCoreBusyPercent.toFixed(0)}% busy`);
  }
  if (result.serverPeakRssKiB !== null) {
    parts.push(`peak RSS ${(result.serverPeakRssKiB / 1024).toFixed(1)} MiB`);
  }
  if (parts.length > 0) lines.push(`server       ${parts.join(", ")}`);
  for (const close of result.closes) {
    lines.push(`WARNING: connections closed by the server: ${close}`);
  }
  if (result.stalled) {
    lines.push("WARNING: a sender gave up: its receivers made no progress");
  }
  return lines;
}
