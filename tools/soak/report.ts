/**
 * Text of the soak's output: the line printed once a second and the summary.
 * Pure code: it formats what it is given.
 *
 * @module
 */
import type { SoakLedger, SoakVerdict } from "./ledger.ts";
import type { SoakSnapshot } from "./run.ts";
import {
  type HubSample,
  type SlowRead,
  TCP_COUNTERS,
  type WatchReading,
} from "./watch.ts";

/** What "lost" means, printed with every result. */
export const LOST_DEFINITION: string =
  "lost = relays whose receipt said they were queued (delivered = 1) for a " +
  "receiver that was still connected, closed neither by the soak nor by the " +
  "hub, at the end of the settle, and that this receiver never read. Relays " +
  "whose receiver the churn closed before reading them are 'abandoned', and " +
  "relays whose sender the churn closed before the receipt came are " +
  "'unconfirmed': neither can be judged.";

/** Readings older than this are flagged in the progress line. */
const STALE_MS = 1500;
/** Reads slower than this are named in the progress line. */
const SLOW_READ_MS = 500;

/** `n` KiB as MiB with one decimal. */
export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/** `ms` as seconds with one decimal. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Sum of a map's counts. */
export function total(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

function counts(map: ReadonlyMap<string, number>): string {
  if (map.size === 0) return "0";
  return [...map].map(([cause, n]) => `${n} (${cause})`).join(", ");
}

function percent(used: number | null, since: number | null, ms: number) {
  if (used === null || since === null || ms <= 0) return "?";
  return `${Math.round((used - since) * 100 / ms)}%`;
}

/** What one progress line reports. */
export interface Progress {
  /** Time since the line printer started. */
  elapsedMs: number;
  /** What the soak is doing: ramp, load, settle or close. */
  phase: string;
  /** The run's counts now. */
  snapshot: SoakSnapshot;
  /** The relays, receipts and deliveries so far. */
  ledger: SoakLedger;
  /** Relays and deliveries at the previous line. */
  previous: { sent: number; delivered: number };
  /** The latest reading and the one the previous line used. */
  reading: WatchReading;
  /** The reading the previous line used. */
  before: WatchReading;
  /** `performance.now()` as the line is made. */
  now: number;
  /** The generator's worst event-loop lag since the last line, ms. */
  lagMs: number;
  /** The probe's slowest PING to PONG in its last second, ms. */
  pingMs: number | null;
  /** The slowest reading of /proc since the last line. */
  slowest: SlowRead;
}

/** The line printed once a second. */
export function progressLine(p: Progress): string {
  const s = p.snapshot;
  const l = p.ledger;
  let trouble = total(s.hubCloses) + s.openFailures > 0
    ? ` hub-closed ${total(s.hubCloses)} failed-opens ${s.openFailures}`
    : "";
  for (const name of TCP_COUNTERS) {
    const delta = p.reading.tcp[name] - p.before.tcp[name];
    if (delta > 0) trouble += ` ${name} +${delta}`;
  }
  const span = p.reading.at - p.before.at;
  const hub = p.reading.hub;
  const age = p.now - p.reading.at;
  return `${seconds(p.elapsedMs).padStart(7)} ${p.phase.padEnd(6)} ` +
    `held ${s.held} churned ${s.churned}${trouble} | ` +
    `relays ${l.sent} (+${l.sent - p.previous.sent}) ` +
    `receipts ${l.receipts} delivered ${l.delivered} ` +
    `(+${l.delivered - p.previous.delivered}) awaiting ${s.awaiting} | ` +
    `generator cpu ${percent(p.reading.selfCpuMs, p.before.selfCpuMs, span)} ` +
    `lag ${Math.round(p.lagMs)} ms | hub ` +
    (hub === null
      ? "gone"
      : `cpu ${percent(p.reading.hubCpuMs, p.before.hubCpuMs, span)} rss ${
        mib(hub.rssKiB)
      } peak ${mib(hub.hwmKiB)} fds ${hub.fds} ping ${
        p.pingMs === null ? "-" : `${p.pingMs} ms`
      }`) +
    (age > STALE_MS ? ` (readings ${seconds(age)} old)` : "") +
    (p.slowest.ms > SLOW_READ_MS
      ? ` slow read: ${p.slowest.what} ${Math.round(p.slowest.ms)} ms`
      : "");
}

/** What the summary reports. */
export interface Summary {
  /** Connections the soak meant to hold. */
  connections: number;
  /** The run's counts at the end of the settle. */
  end: SoakSnapshot;
  /** Connections opened, churn included. */
  opened: number;
  /** How long opening every connection took. */
  rampMs: number;
  /** How long the load ran. */
  loadMs: number;
  /** How long the settle took. */
  settleMs: number;
  /** How long closing every connection took, until the hub's fds were back. */
  closeMs: number;
  /** Idle time before the "after" reading. */
  idleMs: number;
  /** The last reason a connection failed to open. */
  lastOpenError: string;
  /** The first few hub closes, with detail. */
  closeSamples: readonly string[];
  /** The relays, receipts and deliveries. */
  ledger: SoakLedger;
  /** Lost and unjudged messages at the end. */
  verdict: SoakVerdict;
  /** The machine's TCP counters at the start and at the end. */
  tcp: { start: WatchReading["tcp"]; end: WatchReading["tcp"] };
  /** The hub before the load; `null` when it could not be read. */
  before: HubSample | null;
  /** The hub's highest readings during the run. */
  peak: HubSample;
  /** The hub after closing and idling; `null` when it could not be read. */
  after: HubSample | null;
  /** The hub's fd count once it had closed every connection. */
  fdsBack: number | null;
  /** How the hub exited. */
  exit: { code: number; signal: string | null; unasked: boolean };
  /** The probe's slowest PING to PONG and its slow seconds. */
  probe: { worstMs: number; slowSeconds: number };
  /** This process's RSS at the end, in KiB. */
  generatorRssKiB: number;
  /** Why the run failed; empty when it passed. */
  failures: readonly string[];
}

function row(name: string, s: HubSample | null): string {
  return `  ${name.padEnd(26)} ${
    s === null
      ? "(hub gone)"
      : `${mib(s.rssKiB).padStart(11)} ${mib(s.hwmKiB).padStart(11)} ${
        String(s.fds).padStart(7)
      }`
  }`;
}

/** The summary printed at the end, line by line. */
export function summaryLines(r: Summary): string[] {
  const l = r.ledger;
  const v = r.verdict;
  return [
    "",
    "soak result",
    `  connections   held ${r.end.held} of ${r.connections} at the end; opened ${r.opened} (ramp ${
      seconds(r.rampMs)
    }), closed by churn ${r.end.churned}, closed by the hub ${
      counts(r.end.hubCloses)
    }, failed to open ${r.end.openFailures}${
      r.lastOpenError === "" ? "" : ` (last: ${r.lastOpenError})`
    }`,
    ...r.closeSamples.map((sample) => `                hub close: ${sample}`),
    `  relays        sent ${l.sent} in ${seconds(r.loadMs)} (${
      Math.round(l.sent * 1000 / r.loadMs)
    }/s); receipts ${l.receipts}: queued ${l.queued}, receiver gone ${l.notQueued}; unconfirmed (sender churned) ${v.unconfirmed}`,
    `  messages      delivered ${l.delivered}, LOST ${v.lost}, abandoned (receiver churned before reading) ${v.abandoned}; settled in ${
      seconds(r.settleMs)
    }`,
    `  integrity     duplicates ${l.duplicates}, misrouted ${l.misrouted}, out of order ${l.reordered}, corrupt ${l.corrupt}, read though not queued ${l.phantoms}, bad receipts ${l.badReceipts}, receipts missing ${v.missingReceipts}`,
    `  kernel TCP    (whole machine, during the run) ${
      TCP_COUNTERS.map((name) =>
        `${name} +${r.tcp.end[name] - r.tcp.start[name]}`
      )
        .join(", ")
    }`,
    `  hub process   ${"".padEnd(13)}${"VmRSS".padStart(11)} ${
      "VmHWM".padStart(11)
    } ${"fds".padStart(7)}`,
    row("before the load", r.before),
    row("during (highest seen)", r.peak),
    row(`after close + ${seconds(r.idleMs)} idle`, r.after),
    `  hub ping      slowest PING to PONG ${r.probe.worstMs} ms; ${r.probe.slowSeconds} seconds with one of 1 s or more (a probe process on its own connection)`,
    `  close         ${r.end.held} connections closed; the hub's fds were back to ${
      r.fdsBack ?? "?"
    } after ${seconds(r.closeMs)}`,
    `  hub exit      ${
      r.exit.unasked ? "died during the run" : "after SIGTERM"
    }: code ${r.exit.code}${
      r.exit.signal === null ? "" : `, signal ${r.exit.signal}`
    } (its log is on stderr)`,
    `  generator     rss ${mib(r.generatorRssKiB)} at the end (this process)`,
    `  ${LOST_DEFINITION}`,
    r.failures.length === 0 ? "PASS" : `FAIL: ${r.failures.join("; ")}`,
  ];
}
