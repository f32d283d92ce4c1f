/**
 * `msghub bench`: a load generator for a msghub hub or a nats-server. This
 * file turns flags into a run and prints the result; the engine is
 * `bench/` (`bench/mod.ts`).
 *
 * @module
 */
import { MAX_BODY, MAX_RECEIVERS } from "../protocol/mod.ts";
import {
  type Address,
  type BenchCluster,
  type BenchResult,
  canPin,
  DEFAULT_SETTLE_MS,
  defaultWindow,
  type Driver,
  GENERATOR_CORE,
  isPresetName,
  msghubDriver,
  natsDriver,
  pinSelf,
  PRESET_NOTES,
  PRESETS,
  progressLine,
  runBench,
  type RunContext,
  SERVER_CORE,
  type ServerProcess,
  type Shape,
  startCluster,
  startHub,
  summaryLines,
  type Transport,
  type Workload,
} from "../bench/mod.ts";
import {
  durationFlag,
  intFlag,
  type ParsedFlags,
  parseFlags,
  sizeFlag,
  stringFlag,
  UsageError,
} from "../flags/mod.ts";
import { usageLine } from "./usage.ts";
import { CONNECTIONS_USAGE, connectionsCommand } from "./bench_connections.ts";

/** The help text of `msghub bench`. */
export const BENCH_USAGE = `Usage: msghub bench [options]

Measures a msghub hub (or a nats-server) with senders that relay to
receivers, in the style of "nats bench". Without --host, --port or --nats it
starts a hub of its own ("msghub hub --port 0") for the run; it then pins
that hub to core ${SERVER_CORE} and itself to core ${GENERATOR_CORE} with taskset, where taskset
exists, so that the two do not share a core.

Options:
  --host HOST        host of a running hub (default 127.0.0.1 with --port)
  --port PORT        port of a running hub
  --nats HOST:PORT   drive a nats-server instead, over the NATS text protocol
  --cluster          start nats-server (with JetStream) and two hubs in one
                     cluster, senders on one hub and receivers on the other:
                     every message crosses between hubs (not pinned)
  --ws               connect over WebSocket: the same protocol in masked
                     binary messages; a hub the bench starts gets
                     --ws-port 0, and --port or --nats name the server's
                     WebSocket port (nats-server: a websocket block with
                     no_tls: true)
  --preset NAME      a standard workload, overridden by the options below:
                       a  ${PRESET_NOTES.a}
                       b  ${PRESET_NOTES.b}
                       c  ${PRESET_NOTES.c}
                       d  ${PRESET_NOTES.d}
  --senders N        sending connections (default 1)
  --receivers N      receiving connections per sender, all named in each
                     relay (default 1, at most ${MAX_RECEIVERS})
  --size SIZE        body bytes per message (default 128)
  --count N          messages per sender, then stop
  --duration TIME    send for this long instead (default 5s)
  --rate N           messages per second per sender; 0 is as fast as the
                     socket allows (default 0)
  --window N         most messages a sender may be ahead of its slowest
                     receiver, 0 for no limit (default: 4 MiB of messages,
                     so a hub with its default 8 MiB queue limit never drops
                     a receiver that the generator reads too slowly)
  --settle TIME      after the last send, wait this long without a delivery
                     before counting what is missing (default ${
  DEFAULT_SETTLE_MS / 1000
}s)
  --pin              pin this process to core ${GENERATOR_CORE} even with an external server
  --server-pid PID   report this server process's CPU use and peak RSS
  --server-pinned    the external server runs on core ${SERVER_CORE}: report that
                     core's load too (with --pin)
  --json             print one JSON object instead of the summary; progress
                     goes to stderr
${CONNECTIONS_USAGE}
  -h, --help         show this help

Throughput counts delivered messages. Latency is measured on every message
whose body has room for a timestamp (3 bytes or more).`;

/** Everything a bench run needs, resolved from the flags. */
interface BenchOptions {
  /** What to send, how fast, and for how long. */
  workload: Workload;
  /** The NATS server to drive, or a hub's address, or `null` to start a hub. */
  target: { driver: Driver; address: Address } | null;
  /** Pin this process to the generator core. */
  pin: boolean;
  /** The external server is pinned to the server core. */
  pinnedServer: boolean;
  /** Start a two-hub cluster: senders on one hub, receivers on the other. */
  cluster: boolean;
  /** How the generator's connections reach the server. */
  transport: Transport;
  /** An external server process to watch: its CPU use and peak RSS. */
  serverPid?: number;
  /** Silence after the last send that ends the settle, in ms. */
  settleMs: number;
  /** Print one JSON object instead of the summary. */
  json: boolean;
}

function address(text: string, flag: string): Address {
  const match = /^(.+):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new UsageError(
      `Invalid --${flag}: "${text}", expected HOST:PORT such as 127.0.0.1:4222`,
    );
  }
  return { hostname: match[1]!, port };
}

function shapeOf(flags: ParsedFlags): Shape {
  const preset = stringFlag(flags, "preset");
  if (preset !== undefined && !isPresetName(preset)) {
    throw new UsageError(
      `Invalid --preset: "${preset}", expected a, b, c or d`,
    );
  }
  const base = preset === undefined
    ? { senders: 1, receivers: 1, size: 128 }
    : PRESETS[preset];
  const receivers = intFlag(flags, "receivers", 1, MAX_RECEIVERS) ??
    base.receivers;
  const senders = intFlag(flags, "senders", 1, 1000) ?? base.senders;
  const size = sizeFlag(flags, "size") ?? base.size;
  if (size > MAX_BODY) {
    throw new UsageError(
      `Invalid --size: ${size} bytes exceeds the largest body, ${MAX_BODY}`,
    );
  }
  if (senders * (receivers + 1) > 10_000) {
    throw new UsageError(
      `Too many connections: ${senders} x (${receivers} + 1) exceeds 10000`,
    );
  }
  return { senders, receivers, size };
}

/** Parses `msghub bench` flags; `null` means --help. */
function benchOptions(args: string[]): BenchOptions | null {
  const flags = parseFlags(args, {
    string: [
      "host",
      "port",
      "nats",
      "preset",
      "senders",
      "receivers",
      "size",
      "count",
      "duration",
      "rate",
      "window",
      "server-pid",
      "settle",
    ],
    boolean: ["help", "json", "pin", "server-pinned", "cluster", "ws"],
    alias: { h: "help" },
  });
  if (flags.help === true) return null;
  if (flags._.length > 0) {
    throw new UsageError(`Unexpected argument: "${flags._[0]}"`);
  }
  const shape = shapeOf(flags);
  const count = intFlag(flags, "count", 1, Number.MAX_SAFE_INTEGER);
  const duration = durationFlag(flags, "duration");
  if (count !== undefined && duration !== undefined) {
    throw new UsageError("Options --count and --duration exclude each other");
  }
  if (duration !== undefined && duration < 1) {
    throw new UsageError(`Invalid --duration: it must be above 0`);
  }
  const workload: Workload = {
    ...shape,
    durationMs: duration ?? 5000,
    rate: intFlag(flags, "rate", 0, 100_000_000) ?? 0,
    window: intFlag(flags, "window", 0, Number.MAX_SAFE_INTEGER) ??
      defaultWindow(shape.size),
  };
  if (count !== undefined) workload.count = count;
  const nats = stringFlag(flags, "nats");
  const host = stringFlag(flags, "host");
  const port = intFlag(flags, "port", 1, 65535);
  let target: BenchOptions["target"] = null;
  const cluster = flags.cluster === true;
  if (
    cluster && (nats !== undefined || host !== undefined || port !== undefined)
  ) {
    throw new UsageError(
      "Option --cluster starts its own hubs: it excludes --nats, --host and --port",
    );
  }
  if (nats !== undefined) {
    if (host !== undefined || port !== undefined) {
      throw new UsageError("Option --nats excludes --host and --port");
    }
    target = { driver: natsDriver, address: address(nats, "nats") };
  } else if (host !== undefined || port !== undefined) {
    target = {
      driver: msghubDriver,
      address: { hostname: host ?? "127.0.0.1", port: port ?? 1234 },
    };
  }
  const options: BenchOptions = {
    workload,
    target,
    pin: flags.pin === true || (target === null && !cluster),
    pinnedServer: flags["server-pinned"] === true,
    cluster,
    transport: flags.ws === true ? "ws" : "tcp",
    settleMs: durationFlag(flags, "settle") ?? DEFAULT_SETTLE_MS,
    json: flags.json === true,
  };
  const serverPid = intFlag(flags, "server-pid", 1, 2 ** 31 - 1);
  if (serverPid !== undefined) options.serverPid = serverPid;
  return options;
}

/** Prints progress: a live line on a terminal, a line a second otherwise. */
function progressPrinter(json: boolean): {
  print: (line: string) => void;
  end: () => void;
} {
  const out = json ? Deno.stderr : Deno.stdout;
  const live = out.isTerminal();
  const encoder = new TextEncoder();
  let printed = false;
  return {
    print: (line) => {
      printed = true;
      out.writeSync(encoder.encode(live ? `\r${line}\x1b[K` : `${line}\n`));
    },
    end: () => {
      if (live && printed) out.writeSync(encoder.encode("\n"));
    },
  };
}

/**
 * Runs `msghub bench ARGS`; resolves to the exit code: 0 when every
 * message arrived, 1 otherwise or when the run failed, 2 on a usage error.
 *
 * @example A short run against a hub of its own
 * ```ts ignore
 * import { benchCommand } from "./bench.ts";
 * Deno.exit(await benchCommand(["--count", "1000", "--json"]));
 * ```
 */
export async function benchCommand(args: string[]): Promise<number> {
  if (args.some((arg) => /^--connections(=|$)/.test(arg))) {
    return await connectionsCommand(args);
  }
  let options: BenchOptions | null;
  try {
    options = benchOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(usageLine("msghub bench", error));
    return 2;
  }
  if (options === null) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const pinnable = options.pin && await canPin();
  const pinned = pinnable && await pinSelf();
  let hub: ServerProcess | null = null;
  let cluster: BenchCluster | null = null;
  let result: BenchResult;
  const progress = progressPrinter(options.json);
  try {
    const ws = options.transport === "ws";
    // Over WebSocket, a hub started here is reached at its WebSocket port.
    const at = (server: ServerProcess) =>
      ws ? server.wsAddress! : server.address;
    if (options.cluster) {
      cluster = await startCluster({ ws });
      hub = cluster.receiverHub;
    } else if (options.target === null) hub = await startHub(pinned, { ws });
    const driver = options.target?.driver ?? msghubDriver;
    const serverPid = hub?.pid ?? options.serverPid;
    result = await runBench({
      driver,
      address: options.target?.address ?? at(hub!),
      transport: options.transport,
      ...(cluster === null ? {} : { senderAddress: at(cluster.senderHub) }),
      workload: options.workload,
      ...(serverPid === undefined ? {} : { serverPid }),
      // Cores are watched only when both sides are known to be pinned.
      ...(pinned && (hub !== null || options.pinnedServer)
        ? { cores: { generator: GENERATOR_CORE, server: SERVER_CORE } }
        : {}),
      onProgress: (p) => progress.print(progressLine(p)),
      settleMs: options.settleMs,
    });
  } catch (error) {
    progress.end();
    console.error(`msghub bench: ${(error as Error).message}`);
    await (cluster ?? hub)?.stop();
    return 1;
  }
  progress.end();
  await (cluster ?? hub)?.stop();
  const context: RunContext = {
    origin: cluster !== null
      ? `two hubs in a cluster through nats-server (pid ${cluster.nats.pid}) started by the bench: senders on pid ${cluster.senderHub.pid}, receivers on pid ${
        hub!.pid
      } (server figures are the receivers' hub)`
      : hub === null
      ? "server not started by the bench"
      : `hub started by the bench, pid ${hub.pid}`,
    pinning: pinned
      ? `generator pinned to core ${GENERATOR_CORE}${
        hub === null ? "" : `, hub to core ${SERVER_CORE}`
      }`
      : options.pin
      ? "not pinned: taskset or a second core is missing"
      : "not pinned",
  };
  const hubLog = hub === null
    ? []
    : hub.lines.filter((line) => !/listening on/.test(line));
  if (options.json) {
    console.log(JSON.stringify({ ...result, ...context, hubLog }));
  } else {
    for (const line of summaryLines(result, context)) console.log(line);
    if (hubLog.length > 0) {
      console.log("hub log (last lines):");
      for (const line of hubLog.slice(-10)) console.log(`  ${line}`);
    }
  }
  const clean = result.undelivered === 0 && result.closes.length === 0 &&
    !result.stalled;
  return clean ? 0 : 1;
}
