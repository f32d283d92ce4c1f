/**
 * `deno task soak`: holds thousands of connections to a hub subprocess for a
 * while, churns them, relays receipted messages between random live clients,
 * and checks that nothing queued for a client that stayed was lost and that
 * the hub's memory and descriptors come back once everyone has left. Not run
 * in CI: a full run takes a minute or two and 20,000 descriptors.
 *
 * @module
 */
import {
  durationFlag,
  intFlag,
  parseFlags,
  sizeFlag,
  stringFlag,
  UsageError,
} from "../../flags/mod.ts";
import { MAX_BODY, MAX_LIST_IDS } from "../../protocol/mod.ts";
import { cpuModel } from "../../bench/mod.ts";
import { HubProbe, SoakHub } from "./hub.ts";
import { MIN_SOAK_BODY } from "./ledger.ts";
import { progressLine, seconds, summaryLines, total } from "./report.ts";
import { type SoakLoad, SoakRun } from "./run.ts";
import { SoakWatch } from "./watch.ts";

const USAGE = `Usage: deno task soak [options]

Starts a hub subprocess, holds N binary connections to it, churns them and
relays receipted messages between random live clients; prints progress once a
second, then the messages lost and the hub's memory and descriptors before,
during and after. Exits 1 if a message was lost, the hub died, or anything
else went wrong (see the verdict).

Options:
  --connections N   connections to hold (default 10000)
  --duration TIME   how long to relay and churn once all are open (default 60s)
  --churn RATE      connections closed and reopened per second (default 200)
  --rate N          relays per second, all senders together (default 5000)
  --size BYTES      body size of each relay (default 256, at least 4)
  --settle TIME     longest wait for the last messages and receipts (default 5s)
  --hub-log-level L the hub's --log-level: info also logs why it closed
                    each connection (default warn)
  -h, --help        show this help`;

/** Set in the re-executed soak so that it does not try again. */
const RAISED_ENV = "MSGHUB_SOAK_NOFILE_RAISED";
/** What the soak asks `ulimit -n` for when it must raise the limit. */
const WANTED_NOFILE = 65536;
/** Hub headroom over the soak's connections, as `--max-clients`. */
const HUB_HEADROOM = 1000;
/** Idle time after the hub's fds are back, before the "after" reading. */
const AFTER_IDLE_MS = 10_000;

interface SoakFlags extends SoakLoad {
  durationMs: number;
  settleMs: number;
  hubLogLevel: string;
}

const LOG_LEVELS = ["debug", "info", "warn", "error"];

function soakFlags(args: string[]): SoakFlags | null {
  const flags = parseFlags(args, {
    string: [
      "connections",
      "duration",
      "churn",
      "rate",
      "size",
      "settle",
      "hub-log-level",
    ],
    boolean: ["help"],
    alias: { h: "help" },
  });
  if (flags.help === true) return null;
  if (flags._.length > 0) {
    throw new UsageError(`Unexpected argument: "${flags._[0]}"`);
  }
  const size = sizeFlag(flags, "size") ?? 256;
  if (size < MIN_SOAK_BODY || size > MAX_BODY) {
    throw new UsageError(
      `Invalid --size: "${size}", expected ${MIN_SOAK_BODY} to ${MAX_BODY} bytes`,
    );
  }
  const hubLogLevel = stringFlag(flags, "hub-log-level") ?? "warn";
  if (!LOG_LEVELS.includes(hubLogLevel)) {
    throw new UsageError(
      `Invalid --hub-log-level: "${hubLogLevel}", expected debug, info, warn or error`,
    );
  }
  return {
    hubLogLevel,
    connections:
      intFlag(flags, "connections", 2, MAX_LIST_IDS - HUB_HEADROOM) ??
        10_000,
    durationMs: durationFlag(flags, "duration") ?? 60_000,
    churnPerSec: intFlag(flags, "churn", 0, 100_000) ?? 200,
    relaysPerSec: intFlag(flags, "rate", 0, 10_000_000) ?? 5000,
    size,
    settleMs: durationFlag(flags, "settle") ?? 5000,
  };
}

/** The open-file limits of this process, from /proc/self/limits. */
function openFileLimits(): { soft: number; hard: number } {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const value = (text: string | undefined) =>
    text === "unlimited" ? Infinity : Number(text);
  return { soft: value(match?.[1]), hard: value(match?.[2]) };
}

/**
 * Makes sure the open-file limit covers `need`. Deno cannot call setrlimit,
 * so when it is too low the soak runs itself again under `ulimit -n` and
 * resolves to that run's exit code; `null` means go on here.
 */
async function ensureOpenFiles(need: number): Promise<number | null> {
  const { soft, hard } = openFileLimits();
  if (soft >= need) {
    console.log(
      `open files: limit ${soft} (hard ${hard}), this run needs about ${need}: enough`,
    );
    return null;
  }
  if (Deno.env.get(RAISED_ENV) !== undefined) {
    console.error(
      `soak: the open-file limit is still ${soft} after raising it; this run needs about ${need}. Use fewer --connections, or run where the limit can be raised`,
    );
    return 1;
  }
  const target = hard >= need ? Math.min(hard, WANTED_NOFILE) : WANTED_NOFILE;
  const script = decodeURIComponent(new URL(import.meta.url).pathname);
  const shell = `ulimit -n ${Math.max(target, need)} && exec "$0" "$@"`;
  console.log(
    `open files: limit ${soft} (hard ${hard}), this run needs about ${need}: ` +
      `running again under bash -c '${shell}'`,
  );
  const child = new Deno.Command("bash", {
    args: ["-c", shell, Deno.execPath(), "run", "-A", script, ...Deno.args],
    env: { [RAISED_ENV]: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl-C reaches the whole process group; this one just waits for it.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  const status = await child.status;
  Deno.removeSignalListener("SIGINT", ignore);
  return status.code;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Prints the machine and the load, for the record. */
async function printSetup(options: SoakFlags): Promise<void> {
  console.log(
    `machine: ${navigator.hardwareConcurrency} cores, ${
      await cpuModel() ?? "unknown CPU"
    }, Linux ${Deno.osRelease()}, deno ${Deno.version.deno}, ${
      new Date().toISOString()
    }`,
  );
  console.log(
    `load: ${options.connections} connections, ${
      seconds(options.durationMs)
    }, churn ${options.churnPerSec}/s, ${options.relaysPerSec} relays/s of ${options.size} bytes, settle up to ${
      seconds(options.settleMs)
    }`,
  );
}

/** Runs the soak; resolves to the exit code. */
async function soak(args: string[]): Promise<number> {
  let options: SoakFlags | null;
  try {
    options = soakFlags(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`soak: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }
  const maxClients = options.connections + HUB_HEADROOM;
  const raised = await ensureOpenFiles(maxClients + 100);
  if (raised !== null) return raised;
  await printSetup(options);

  const hub = await SoakHub.start(maxClients, options.hubLogLevel);
  console.log(
    `hub: pid ${hub.pid}, listening on ${hub.address.hostname}:${hub.address.port} (deno ${
      hub.args.join(" ")
    }); its log goes to stderr`,
  );
  const run = new SoakRun(hub.address, options);
  const stop = () => run.stop();
  Deno.addSignalListener("SIGINT", stop);
  void hub.exited.then((exit) => {
    if (!exit.unasked) return;
    console.log(
      `HUB DIED: exit code ${exit.code}${
        exit.signal === null ? "" : `, signal ${exit.signal}`
      }`,
    );
    run.stop();
  });
  let watch: SoakWatch | undefined;
  let probe: HubProbe | undefined;
  let reporter: ReturnType<typeof setInterval> | undefined;
  try {
    await delay(500);
    watch = await SoakWatch.start(hub.pid);
    const w = watch;
    probe = HubProbe.start(hub.address.port);
    const p = probe;
    const start = w.latest;
    const t0 = performance.now();
    let phase = "ramp";
    let previous = { sent: 0, delivered: 0 };
    let before = start;
    reporter = setInterval(() => {
      const reading = w.latest;
      console.log(progressLine({
        elapsedMs: performance.now() - t0,
        phase,
        snapshot: run.snapshot(),
        ledger: run.ledger,
        previous,
        reading,
        before,
        now: performance.now(),
        lagMs: w.takeLag(),
        pingMs: p.lastWorstMs,
        slowest: w.takeSlowest(),
      }));
      previous = { sent: run.ledger.sent, delivered: run.ledger.delivered };
      if (reading.at > before.at) before = reading;
    }, 1000);

    const rampStart = performance.now();
    await run.rampUp();
    const rampMs = performance.now() - rampStart;
    console.log(
      `ramp: ${run.snapshot().held} connections registered in ${
        seconds(rampMs)
      }`,
    );
    phase = "load";
    const loadStart = performance.now();
    await run.run(options.durationMs);
    const loadMs = performance.now() - loadStart;
    phase = "settle";
    const settleMs = await run.settle(options.settleMs);
    const end = run.snapshot();
    const verdict = run.ledger.verdict();
    await w.read();

    phase = "close";
    w.tracking = false;
    await p.stop();
    const closeStart = performance.now();
    await run.closeAll();
    // The hub closes its side once it reads each end: wait for its fds to drop.
    let after = (await w.read()).hub;
    while (
      after !== null && start.hub !== null && after.fds > start.hub.fds &&
      performance.now() - closeStart < 20_000
    ) {
      await delay(200);
      after = (await w.read()).hub;
    }
    const closeMs = performance.now() - closeStart;
    const fdsBack = after?.fds ?? null;
    // Give the hub's garbage collector a chance to hand memory back.
    await delay(AFTER_IDLE_MS);
    const last = await w.read();
    clearInterval(reporter);
    reporter = undefined;
    await w.stop();
    const exit = await hub.stop();

    const l = run.ledger;
    const anomalies = l.duplicates + l.misrouted + l.reordered + l.corrupt +
      l.phantoms + l.badReceipts + verdict.missingReceipts;
    const failures: string[] = [];
    if (verdict.lost > 0) failures.push(`${verdict.lost} messages lost`);
    if (exit.unasked) failures.push("the hub died");
    else if (exit.code !== 0) {
      failures.push(`the hub exited ${exit.code} on SIGTERM`);
    }
    if (anomalies > 0) failures.push(`${anomalies} integrity anomalies`);
    if (total(end.hubCloses) > 0) {
      failures.push(`the hub closed ${total(end.hubCloses)} clients`);
    }
    if (end.openFailures > 0) {
      failures.push(`${end.openFailures} connections failed to open`);
    }
    for (
      const line of summaryLines({
        connections: options.connections,
        end,
        opened: run.opened,
        rampMs,
        loadMs,
        settleMs,
        closeMs,
        idleMs: AFTER_IDLE_MS,
        lastOpenError: run.lastOpenError,
        closeSamples: run.closeSamples,
        ledger: l,
        verdict,
        tcp: { start: start.tcp, end: last.tcp },
        before: start.hub,
        peak: w.peak,
        after: last.hub,
        fdsBack,
        exit,
        probe: p,
        generatorRssKiB: Deno.memoryUsage().rss / 1024,
        failures,
      })
    ) console.log(line);
    return failures.length === 0 ? 0 : 1;
  } finally {
    clearInterval(reporter);
    Deno.removeSignalListener("SIGINT", stop);
    await watch?.stop();
    await probe?.stop();
    await run.closeAll();
    await hub.stop();
  }
}

if (import.meta.main) Deno.exit(await soak(Deno.args));
