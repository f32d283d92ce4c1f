/**
 * `deno task bench`: workloads a to d and the fixed-rate latency runs against
 * msghub and, when `nats-server` is on PATH, against NATS, interleaved over
 * three rounds, each run in a fresh `msghub bench` process against a fresh
 * server; then workloads a to d over WebSocket against both, in fewer rounds.
 * Writes BENCHMARKS.md and docs/bench-ratios.svg. Not part of CI.
 *
 * @module
 */
import {
  type BenchResult,
  canPin,
  cpuModel,
  formatInt,
  formatMicros,
  mainPath,
  NATS_READY,
  NATS_WS_CONFIG,
  NATS_WS_READY,
  repoRoot,
  type ServerProcess,
  startServer,
} from "../../bench/mod.ts";
import { renderBenchmarks } from "./markdown.ts";
import { renderConnectionScale, runConnectionScale } from "./connections.ts";
import {
  clusterCompare,
  compare,
  type ServerName,
  type SuiteRun,
  summarize,
  wsCompare,
} from "./suite.ts";
import { renderRatioChart } from "./svg.ts";

const ROUNDS = 3;
/**
 * Rounds of the WebSocket runs: fewer, to keep the suite near its old length
 * (their medians are of 2, that is means).
 */
const WS_ROUNDS = 2;
const RUN_SECONDS = 5;
const CHART = "docs/bench-ratios.svg";
const NATS_CONFIG =
  `# Written by msghub's tools/bench_suite/main.ts for one benchmark run.
host: 127.0.0.1
port: -1
max_payload: 2MB
max_pending: 512MB
`;

interface Plan {
  label: string;
  args: string[];
}

const THROUGHPUT: Plan[] = ["a", "b", "c", "d"].map((preset) => ({
  label: preset,
  args: ["--preset", preset],
}));
const LATENCY: Plan[] = [
  { label: "a @ 1,000/s", args: ["--preset", "a", "--rate", "1000"] },
  { label: "b @ 200/s", args: ["--preset", "b", "--rate", "200"] },
  {
    label: "d @ 5,000/s per sender",
    args: ["--preset", "d", "--rate", "5000"],
  },
];

/** Across two hubs, the suite measures workloads a and d (issue 6's targets). */
function measured(plan: Plan, server: ServerName): boolean {
  return server !== "cluster" || /^[ad]\b/.test(plan.label);
}

/** The servers over WebSocket, for the servers measured over TCP. */
function wsServers(servers: readonly ServerName[]): ServerName[] {
  return servers.includes("nats") ? ["msghub-ws", "nats-ws"] : ["msghub-ws"];
}

async function output(command: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(command, { args, stdin: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** The commit, and the hub and protocol files that differ from it. */
async function codeVersion(root: string): Promise<string> {
  const head = await output("git", [
    "-C",
    root,
    "rev-parse",
    "--short",
    "HEAD",
  ]);
  if (head === null) return "unknown (no git)";
  const dirty = await output("git", [
    "-C",
    root,
    "status",
    "--porcelain",
    "--",
    "hub",
    "protocol",
  ]);
  // Porcelain lines are "XY path"; the output was trimmed, so match loosely.
  const files = (dirty ?? "").split("\n")
    .map((line) => /^\s*\S+\s+(.+)$/.exec(line)?.[1])
    .filter((file): file is string => file !== undefined);
  return files.length === 0
    ? head
    : `${head} with uncommitted changes to ${files.join(", ")}`;
}

/** The version at the start, and at the end when it differs. */
async function describeVersions(root: string, start: string): Promise<string> {
  const end = await codeVersion(root);
  return end === start ? start : `${start} at the start, ${end} at the end`;
}

/** A digest of the hub's and protocol's sources, to notice edits mid-suite. */
async function codeDigest(root: string): Promise<string> {
  const parts: string[] = [];
  for (const dir of ["hub", "protocol"]) {
    const names: string[] = [];
    for await (const entry of Deno.readDir(`${root}/${dir}`)) {
      if (entry.isFile) names.push(entry.name);
    }
    for (const name of names.sort()) {
      parts.push(name, await Deno.readTextFile(`${root}/${dir}/${name}`));
    }
  }
  const bytes = new TextEncoder().encode(parts.join("\u0000"));
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(hash).slice(0, 8))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

function isResult(value: unknown): value is BenchResult {
  return typeof value === "object" && value !== null &&
    typeof (value as BenchResult).deliveredPerSec === "number" &&
    typeof (value as BenchResult).undelivered === "number";
}

/** Runs `msghub bench ARGS --json` in a process of its own. */
async function bench(args: string[]): Promise<BenchResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath(), "bench", ...args, "--json"],
    cwd: repoRoot(),
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const last = stdout.split("\n").pop() ?? "";
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(last);
  } catch {
    // Reported below with stderr.
  }
  if (!isResult(parsed)) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
    // The bench's own error line says most; a server's output may follow it.
    const own = stderr.findIndex((line) => line.startsWith("msghub bench: "));
    const shown = own < 0 ? stderr.slice(-3) : stderr.slice(own, own + 3);
    throw new Error(
      `bench exited ${out.code} without figures: ${shown.join(" | ")}`,
    );
  }
  return parsed;
}

/** The nats-server configs: over TCP only, and with a WebSocket listener. */
interface NatsConfigs {
  tcp: string;
  ws: string;
}

async function runOnce(
  plan: Plan,
  server: ServerName,
  pinned: boolean,
  natsConfigs: NatsConfigs,
): Promise<BenchResult> {
  const args = [...plan.args, "--duration", `${RUN_SECONDS}s`];
  if (server === "msghub") return await bench(args);
  if (server === "msghub-ws") return await bench([...args, "--ws"]);
  if (server === "cluster") return await bench([...args, "--cluster"]);
  const ws = server === "nats-ws";
  let nats: ServerProcess | null = null;
  try {
    nats = await startServer({
      command: "nats-server",
      args: ["-c", ws ? natsConfigs.ws : natsConfigs.tcp],
      stream: "stderr",
      ready: NATS_READY,
      ...(ws ? { wsReady: NATS_WS_READY } : {}),
      pin: pinned,
    });
    const { hostname, port } = ws ? nats.wsAddress! : nats.address;
    return await bench([
      ...args,
      ...(ws ? ["--ws"] : []),
      "--nats",
      `${hostname}:${port}`,
      "--server-pid",
      String(nats.pid),
      ...(pinned ? ["--pin", "--server-pinned"] : []),
    ]);
  } finally {
    await nats?.stop();
  }
}

function describe(run: SuiteRun): string {
  const r = run.result;
  if (r === null) return `FAILED: ${run.error}`;
  const lat = r.latency === null
    ? ""
    : `, p50 ${formatMicros(r.latency.p50Us)} p99 ${
      formatMicros(r.latency.p99Us)
    }`;
  const flags = [
    r.undelivered !== 0 ? `${formatInt(r.undelivered)} undelivered` : "",
    r.generatorSaturated ? "generator near full core" : "",
    ...r.closes,
    r.stalled ? "stalled" : "",
  ].filter((s) => s !== "");
  return `${formatInt(r.deliveredPerSec)} msgs/s, ${
    r.megabytesPerSec.toFixed(1)
  } MB/s${lat}, CPU gen ${(r.generatorCpuPercent ?? NaN).toFixed(0)}% server ${
    (r.serverCpuPercent ?? NaN).toFixed(0)
  }%${flags.length > 0 ? ` [${flags.join("; ")}]` : ""}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const root = repoRoot();
  const pinned = await canPin();
  const version = await codeVersion(root);
  const digest = await codeDigest(root);
  const natsVersion = await output("nats-server", ["--version"]);
  const servers: ServerName[] = natsVersion === null
    ? ["msghub"]
    : ["msghub", "nats", "cluster"];
  const ws = wsServers(servers);
  const dir = await Deno.makeTempDir({ prefix: "msghub-bench-" });
  const natsConfigs = { tcp: `${dir}/nats.conf`, ws: `${dir}/nats-ws.conf` };
  await Deno.writeTextFile(natsConfigs.tcp, NATS_CONFIG);
  await Deno.writeTextFile(natsConfigs.ws, NATS_CONFIG + NATS_WS_CONFIG);
  console.log(
    `msghub bench suite: ${ROUNDS} rounds of ${
      THROUGHPUT.length + LATENCY.length
    } workloads against ${
      servers.join(" and ")
    }, then ${WS_ROUNDS} rounds of ${THROUGHPUT.length} over WebSocket against ${
      ws.join(" and ")
    }, ${RUN_SECONDS} s each; ${
      pinned ? "server on core 0, generator on core 1" : "not pinned"
    }`,
  );
  if (natsVersion === null) {
    console.log("nats-server is not on PATH: measuring msghub alone");
  }
  const runs: SuiteRun[] = [];
  /** Each round's plans and servers: WebSocket rows in the first rounds. */
  const schedule = (round: number) => [
    ...[...THROUGHPUT, ...LATENCY].map((plan) => ({
      plan,
      targets: servers.filter((server) => measured(plan, server)),
    })),
    ...(round <= WS_ROUNDS
      ? THROUGHPUT.map((plan) => ({ plan, targets: ws }))
      : []),
  ];
  let total = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const step of schedule(round)) total += step.targets.length;
  }
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const { plan, targets } of schedule(round)) {
        for (const server of targets) {
          const run: SuiteRun = {
            label: plan.label,
            server,
            round,
            result: null,
          };
          try {
            run.result = await runOnce(plan, server, pinned, natsConfigs);
          } catch (error) {
            run.error = (error as Error).message;
          }
          runs.push(run);
          console.log(
            `[${runs.length}/${total}] round ${round} ${plan.label} ${server}: ${
              describe(run)
            }`,
          );
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const rows = summarize(runs);
  const cluster = clusterCompare(rows);
  const throughput = compare(
    rows.filter((row) => THROUGHPUT.some((p) => p.label === row.label)),
  );
  const latency = compare(
    rows.filter((row) => LATENCY.some((p) => p.label === row.label)),
  );
  const websocket = wsCompare(
    rows.filter((row) => THROUGHPUT.some((p) => p.label === row.label)),
  );
  const chart = renderRatioChart(
    throughput.map((c) => ({
      label: `workload ${c.label}`,
      value: c.throughputRatio,
    })),
    {
      title: "msghub / NATS, delivered messages per second",
      subtitle: `medians of ${ROUNDS} rounds; above 1, msghub delivers more`,
    },
  );
  console.log("connection scale: msghub bench --connections, once");
  const scale = await runConnectionScale();
  const markdown = renderBenchmarks({
    machine: {
      date: new Date().toISOString().slice(0, 10),
      nproc: Number(await output("nproc", [])) || navigator.hardwareConcurrency,
      cpuModel: await cpuModel() ?? "unknown",
      kernel: Deno.osRelease(),
      deno: Deno.version.deno,
      natsServer: natsVersion,
      pinned,
      msghub: await describeVersions(root, version),
      codeChanged: digest !== await codeDigest(root),
    },
    rounds: ROUNDS,
    wsRounds: WS_ROUNDS,
    runSeconds: RUN_SECONDS,
    totalSeconds: (performance.now() - started) / 1000,
    throughput,
    latency,
    cluster,
    websocket,
    runs,
    chartPath: CHART,
  });
  await Deno.mkdir(`${root}/docs`, { recursive: true });
  await Deno.writeTextFile(`${root}/${CHART}`, chart);
  await Deno.writeTextFile(
    `${root}/BENCHMARKS.md`,
    `${markdown.trimEnd()}\n\n${renderConnectionScale(scale)}`,
  );
  console.log("");
  for (const c of [...throughput, ...latency]) {
    console.log(
      `${c.label}: msghub ${
        formatInt(c.msghub?.deliveredPerSec ?? NaN)
      } msgs/s, nats ${
        formatInt(c.nats?.deliveredPerSec ?? NaN)
      } msgs/s, ratio ${c.throughputRatio.toFixed(2)}; p99 ${
        formatMicros(c.msghub?.p99Us ?? NaN)
      } vs ${formatMicros(c.nats?.p99Us ?? NaN)}`,
    );
  }
  for (const c of websocket) {
    console.log(
      `${c.label} over WebSocket: msghub ${
        formatInt(c.msghub?.deliveredPerSec ?? NaN)
      } msgs/s, nats ${
        formatInt(c.nats?.deliveredPerSec ?? NaN)
      } msgs/s, ratio ${c.throughputRatio.toFixed(2)}; msghub WebSocket / TCP ${
        c.wsTcpRatio.toFixed(2)
      }`,
    );
  }
  console.log(`Wrote BENCHMARKS.md and ${CHART}`);
}

if (import.meta.main) await main();
