/**
 * BENCHMARKS.md: method, machine, tables of medians with msghub / NATS
 * ratios, the memory check and every round's raw figures. Pure code: it
 * returns the document as a string.
 *
 * @module
 */
import {
  DEFAULT_SETTLE_MS,
  formatInt,
  formatMicros,
  PRESET_NOTES,
  SATURATED_CORE_PERCENT,
  SATURATED_PERCENT,
  WINDOW_BYTES,
} from "../../bench/mod.ts";
import type {
  ClusterComparison,
  Comparison,
  SuiteRow,
  SuiteRun,
  WsComparison,
} from "./suite.ts";

/** The machine the suite ran on. */
export interface MachineInfo {
  /** The day the suite ran, `YYYY-MM-DD`. */
  date: string;
  /** Cores available. */
  nproc: number;
  /** The CPU's model name. */
  cpuModel: string;
  /** The kernel release. */
  kernel: string;
  /** Deno's version. */
  deno: string;
  /** `null` when nats-server is not on PATH. */
  natsServer: string | null;
  /** Whether server and generator were pinned to cores of their own. */
  pinned: boolean;
  /** The msghub code measured: commit, and uncommitted hub changes. */
  msghub: string;
  /** Whether hub/ or protocol/ changed while the suite ran. */
  codeChanged: boolean;
}

/** Everything BENCHMARKS.md shows. */
export interface SuiteReport {
  /** The machine the suite ran on. */
  machine: MachineInfo;
  /** Rounds of every workload against every server. */
  rounds: number;
  /** Rounds of the WebSocket runs. */
  wsRounds: number;
  /** Length of each throughput and latency run. */
  runSeconds: number;
  /** Wall time of the whole suite. */
  totalSeconds: number;
  /** Workloads a to d at full speed. */
  throughput: Comparison[];
  /** The fixed-rate runs. */
  latency: Comparison[];
  /** Workloads measured on one hub and across two hubs of a cluster. */
  cluster: ClusterComparison[];
  /** Workloads a to d over WebSocket, both servers. */
  websocket: WsComparison[];
  /** Every run, in the order they ran. */
  runs: SuiteRun[];
  /** The chart's path relative to the repository root. */
  chartPath: string;
}

/** A spread between senders from which it is worth a note. */
const UNFAIR = 1.5;

function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return digits === 0 ? formatInt(value) : value.toFixed(digits);
}

function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a";
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(0)}%` : "n/a";
}

function cpu(row: SuiteRow | null): string {
  if (row === null) return "n/a";
  return `${pct(row.generatorCpuPercent)} / ${pct(row.serverCpuPercent)}`;
}

function latency(row: SuiteRow | null): string {
  if (row === null || !Number.isFinite(row.p50Us)) return "n/a";
  return `${formatMicros(row.p50Us)} / ${formatMicros(row.p99Us)}`;
}

function label(comparison: Comparison): string {
  const note = PRESET_NOTES[comparison.label[0] as keyof typeof PRESET_NOTES];
  return note === undefined ? comparison.label : `${comparison.label}: ${note}`;
}

function throughputTable(rows: Comparison[]): string[] {
  const out = [
    "| workload | msghub msgs/s | NATS msgs/s | msghub / NATS | msghub MB/s | NATS MB/s | p50 / p99 msghub | p50 / p99 NATS | CPU gen / server, msghub | CPU gen / server, NATS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const c of rows) {
    out.push(
      `| ${label(c)} | ${num(c.msghub?.deliveredPerSec ?? NaN)} | ${
        num(c.nats?.deliveredPerSec ?? NaN)
      } | **${times(c.throughputRatio)}** | ${
        num(c.msghub?.megabytesPerSec ?? NaN, 1)
      } | ${num(c.nats?.megabytesPerSec ?? NaN, 1)} | ${latency(c.msghub)} | ${
        latency(c.nats)
      } | ${cpu(c.msghub)} | ${cpu(c.nats)} |`,
    );
  }
  return out;
}

function latencyTable(rows: Comparison[]): string[] {
  const out = [
    "| run | msghub p50 | NATS p50 | msghub p99 | NATS p99 | p99 msghub / NATS | msghub max | NATS max | CPU gen / server, msghub | CPU gen / server, NATS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const us = (value: number | undefined) => formatMicros(value ?? NaN);
  for (const c of rows) {
    out.push(
      `| ${c.label} | ${us(c.msghub?.p50Us)} | ${us(c.nats?.p50Us)} | ${
        us(c.msghub?.p99Us)
      } | ${us(c.nats?.p99Us)} | ${times(c.p99Ratio)} | ${
        us(c.msghub?.maxUs)
      } | ${us(c.nats?.maxUs)} | ${cpu(c.msghub)} | ${cpu(c.nats)} |`,
    );
  }
  return out;
}

function clusterTable(rows: ClusterComparison[]): string[] {
  if (rows.length === 0) {
    return ["Not measured: the cluster runs need nats-server."];
  }
  const out = [
    "| workload | one hub msgs/s | two hubs msgs/s | two / one | p50 / p99, one hub | p50 / p99, two hubs | undelivered, two hubs |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const lat = (row: SuiteRow) =>
    `${formatMicros(row.p50Us)} / ${formatMicros(row.p99Us)}`;
  for (const c of rows) {
    out.push(
      `| ${c.label} | ${num(c.one.deliveredPerSec)} | ${
        num(c.two.deliveredPerSec)
      } | **${times(c.ratio)}** | ${lat(c.one)} | ${lat(c.two)} | ${
        num(c.two.undelivered)
      } |`,
    );
  }
  return out;
}

/** Issue 14's targets over WebSocket. */
const WS_TARGET_NATS = 1.5;
const WS_TARGET_TCP = 0.5;

function wsTable(rows: WsComparison[]): string[] {
  if (rows.length === 0) return ["Not measured."];
  const out = [
    "| workload | msghub WS msgs/s | NATS WS msgs/s | msghub / NATS | msghub TCP msgs/s | msghub WS / TCP | p50 / p99 msghub WS | p50 / p99 NATS WS | CPU gen / server, msghub | CPU gen / server, NATS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const c of rows) {
    out.push(
      `| ${label(c)} | ${num(c.msghub?.deliveredPerSec ?? NaN)} | ${
        num(c.nats?.deliveredPerSec ?? NaN)
      } | **${times(c.throughputRatio)}** | ${
        num(c.msghubTcp?.deliveredPerSec ?? NaN)
      } | **${times(c.wsTcpRatio)}** | ${latency(c.msghub)} | ${
        latency(c.nats)
      } | ${cpu(c.msghub)} | ${cpu(c.nats)} |`,
    );
  }
  return out;
}

/** Where the WebSocket figures stand against issue 14's targets. */
function wsTargets(rows: WsComparison[]): string[] {
  const out: string[] = [];
  for (const c of rows) {
    if (Number.isFinite(c.throughputRatio)) {
      const met = c.throughputRatio >= WS_TARGET_NATS;
      out.push(
        `- ${c.label}: msghub / NATS over WebSocket ${
          times(c.throughputRatio)
        } (target >= ${WS_TARGET_NATS.toFixed(1)}x): ${
          met ? "met" : "missed"
        }.`,
      );
    }
    if (/^[ab]$/.test(c.label) && Number.isFinite(c.wsTcpRatio)) {
      const met = c.wsTcpRatio >= WS_TARGET_TCP;
      out.push(
        `- ${c.label}: msghub over WebSocket / over TCP ${
          times(c.wsTcpRatio)
        } (target >= ${WS_TARGET_TCP.toFixed(1)}x): ${met ? "met" : "missed"}.`,
      );
    }
  }
  return out;
}

function rawTable(runs: SuiteRun[]): string[] {
  const out = [
    "| round | workload | server | delivered msgs/s | undelivered | p50 | p99 | gen CPU (core busy) | server CPU (core busy) | server peak RSS | messages per sender, least to most |",
    "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const run of runs) {
    const r = run.result;
    if (r === null) {
      out.push(
        `| ${run.round} | ${run.label} | ${run.server} | failed: ${
          run.error ?? "unknown"
        } | | | | | | | |`,
      );
      continue;
    }
    const busy = (v: number | null) => v === null ? "" : ` (${pct(v)})`;
    out.push(
      `| ${run.round} | ${run.label} | ${run.server} | ${
        num(r.deliveredPerSec)
      } | ${num(r.undelivered)} | ${formatMicros(r.latency?.p50Us ?? NaN)} | ${
        formatMicros(r.latency?.p99Us ?? NaN)
      } | ${pct(r.generatorCpuPercent ?? NaN)}${
        busy(r.generatorCoreBusyPercent)
      } | ${pct(r.serverCpuPercent ?? NaN)}${busy(r.serverCoreBusyPercent)} | ${
        r.serverPeakRssKiB === null
          ? "n/a"
          : `${(r.serverPeakRssKiB / 1024).toFixed(1)} MiB`
      } | ${
        r.workload.senders > 1
          ? `${num(r.sentPerSender.min)} to ${num(r.sentPerSender.max)}`
          : ""
      } |`,
    );
  }
  return out;
}

function notes(report: SuiteReport): string[] {
  const out: string[] = [];
  if (report.machine.codeChanged) {
    out.push(
      "- hub/ or protocol/ changed while the suite ran: rounds may have measured different code.",
    );
  }
  for (
    const c of [...report.throughput, ...report.latency, ...report.websocket]
  ) {
    for (const row of [c.msghub, c.nats]) {
      if (row === null) continue;
      const name = `${row.label}, ${row.server}`;
      if (row.saturatedRuns > 0) {
        out.push(
          `- ${name}: the generator was near a full core in ${row.saturatedRuns} of ${row.runs} rounds; the figure may understate the server.`,
        );
      }
      if (row.senderSpread >= UNFAIR) {
        out.push(
          `- ${name}: senders were served unevenly: the busiest sent ${
            row.senderSpread.toFixed(2)
          }x as many messages as the least busy (median over rounds), which shows in the p99 latency.`,
        );
      }
      if (row.undelivered !== 0) {
        out.push(
          `- ${name}: ${
            formatInt(row.undelivered)
          } messages undelivered over all rounds.`,
        );
      }
      for (const problem of row.problems) out.push(`- ${name}: ${problem}.`);
    }
  }
  return out.length > 0 ? out : [
    "- No run lost messages, stalled or saw a connection closed by the server.",
  ];
}

/** Renders BENCHMARKS.md. */
export function renderBenchmarks(report: SuiteReport): string {
  const m = report.machine;
  const memory = report.throughput.find((c) => c.label === "c");
  const rss = (row: SuiteRow | null | undefined) =>
    row === null || row === undefined || row.serverPeakRssKiB === 0
      ? "n/a"
      : `${(row.serverPeakRssKiB / 1024).toFixed(1)} MiB`;
  const wsRounds = `${report.wsRounds} round${
    report.wsRounds === 1 ? "" : "s"
  }`;
  const met = wsTargets(report.websocket);
  const targets = met.length === 0 ? [] : [...met, ""];
  const lines = [
    "# Benchmarks",
    "",
    `Written by \`deno task bench\` (tools/bench_suite/main.ts) on ${m.date}; the whole suite took ${
      Math.round(report.totalSeconds)
    } s. Not part of CI. Run it again on a quiet machine before quoting a figure.`,
    "",
    "## Method",
    "",
    `- Load comes from \`msghub bench\` (cli/bench.ts, bench/): one Deno process that opens every sender and receiver connection. NATS is driven by the same client, speaking the NATS text protocol (CONNECT, SUB, PUB, MSG, PING/PONG), so both servers face the same generator.`,
    `- ${
      m.pinned
        ? "The server runs on core 0 and the generator on core 1 (`taskset`)"
        : "Nothing was pinned (no `taskset` or fewer than 2 cores)"
    }. A fresh server is started for every run: \`msghub hub --port 0 --metrics-port 0\` (counters are always kept; the metrics endpoint is on, as in production), or \`nats-server\` with \`max_payload: 2MB\` and \`max_pending: 512MB\`.`,
    `- Workloads: ${
      Object.entries(PRESET_NOTES).map(([k, v]) => `**${k}** ${v}`).join("; ")
    }. A msghub relay names all of the sender's receivers; a NATS sender publishes to one subject that all its receivers subscribe to. Throughput counts delivered messages.`,
    `- Each throughput run sends as fast as the socket allows for ${report.runSeconds} s: senders write pre-encoded batches of about 256 KiB, and may run at most ${
      WINDOW_BYTES / 1024 / 1024
    } MiB of messages ahead of their slowest receiver (half of msghub's default 8 MiB per-client queue limit, so an open-loop sender cannot get a receiver dropped merely by outrunning the generator's reads). Receivers count frames by walking headers over each read, without allocating per message.`,
    `- Latency: every message whose body has room carries its send time (microseconds since the run's start, up to 48 bits) written just before the batch is handed to the socket; receivers compute p50 / p99 / max. In full-speed runs latency is mostly the time spent queued inside the window, so the fixed-rate runs are the latency figures.`,
    `- Undelivered = sent x receivers - delivered, after a settle that ends when every message is in, or after ${
      DEFAULT_SETTLE_MS / 1000
    } s without a delivery.`,
    `- CPU: generator and server CPU time from /proc/PID/stat (user + system), in percent of one core; "core busy" is the whole core's busy share from /proc/stat, which also counts the kernel's softirq work for loopback TCP that no process is charged for. At low load, a core far busier than its process shows other load on this shared machine. A run where the generator used >= ${SATURATED_PERCENT}% of its core, or its core was >= ${SATURATED_CORE_PERCENT}% busy, is flagged: the generator may have been the bottleneck there.`,
    `- ${report.rounds} rounds, interleaved (every workload against msghub, then NATS, then the next workload); tables show medians over rounds.`,
    `- Over WebSocket (\`msghub bench --ws\`), every connection is upgraded with the generator's own RFC 6455 code (protocol/ws_*.ts): a batch goes out as one binary message (at most 1 MiB + 64 KiB each), masked with a fresh key into a reused buffer, and reads go through the frame parser in client role to the same walkers. The hub listens with \`--ws-port 0\`; nats-server gets \`websocket { port: -1, no_tls: true }\` (it picks the port) and speaks its usual protocol inside the messages. These runs come after the others in the first ${wsRounds} only, to keep the suite short: their medians are of ${wsRounds}.`,
    "",
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    `| cores (nproc) | ${m.nproc} |`,
    `| CPU | ${m.cpuModel} |`,
    `| kernel | ${m.kernel} |`,
    `| deno | ${m.deno} |`,
    `| msghub code | ${m.msghub} |`,
    `| nats-server | ${
      m.natsServer ?? "not installed: NATS columns are empty"
    } |`,
    "",
    "## Throughput (medians)",
    "",
    ...throughputTable(report.throughput),
    "",
    `![msghub / NATS delivered messages per second](${report.chartPath})`,
    "",
    "## Fixed-rate latency (medians)",
    "",
    ...latencyTable(report.latency),
    "",
    "## Across two hubs (medians)",
    "",
    "`msghub bench --cluster`: nats-server (with JetStream) and two msghub hubs in one cluster, senders on one hub and receivers on the other, so every message crosses from hub to hub through NATS ([docs/CLUSTER.md](docs/CLUSTER.md)). The four processes and the generator share both cores, unpinned; the one-hub figures beside them are the pinned runs above. Server CPU in the raw table below is the receivers' hub.",
    "",
    ...clusterTable(report.cluster),
    "",
    `## Over WebSocket (medians of ${wsRounds})`,
    "",
    "The same generator and workloads, every connection over WebSocket; msghub's TCP figure is the throughput table's.",
    "",
    ...wsTable(report.websocket),
    "",
    ...targets,
    "## Memory",
    "",
    `Peak RSS (VmHWM from /proc/PID/status) of a fresh server over workload c (1 MiB bodies), largest of ${report.rounds} rounds: msghub hub ${
      rss(memory?.msghub)
    }, nats-server ${rss(memory?.nats)}.`,
    "",
    "## Notes",
    "",
    ...notes(report),
    "",
    "Every msghub hub here ran with its metrics endpoint on (`--metrics-port 0`); the counters behind it are kept whatever the flags. A side-by-side run of workload a with and without the endpoint, where the throughput stayed within 3%, is in [docs/PERFORMANCE.md](docs/PERFORMANCE.md), with where the hub's time goes under each workload (`deno task profile a|b|c|d`) and how its read and write paths are built.",
    "",
    "## Every round",
    "",
    ...rawTable(report.runs),
    "",
  ];
  return lines.join("\n");
}
