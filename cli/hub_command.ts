/** `msghub hub`: runs a hub until SIGINT or SIGTERM. */
import { MAX_LIST_IDS } from "../protocol/mod.ts";
import {
  ConfigError,
  type HubClusterOptions,
  type HubOptions,
  type LogLevel,
  type MetricsOptions,
  type MetricsServer,
  serve,
  serveMetrics,
  type TlsKeyPair,
} from "../hub/mod.ts";
import {
  durationFlag,
  intFlag,
  type ParsedFlags,
  parseFlags,
  sizeFlag,
  stringFlag,
  UsageError,
} from "./flags.ts";
import {
  createLogger,
  formatLine,
  LOG_LEVELS,
  type StderrSink,
  stderrSink,
} from "./log.ts";

export const HUB_USAGE = `Usage: msghub hub [options]

Runs a hub. It prints one line, "msghub hub listening on HOST:PORT", and
serves until SIGINT or SIGTERM, then drains and exits 0.

Options:
  --host HOST               address to listen on (default 127.0.0.1)
  --port PORT               port to listen on, 0 for any free one (default 1234)
  --max-clients N           clients at once (default 10000)
  --max-pending SIZE        unsent bytes queued for one client (default 8MiB)
  --write-timeout TIME      no write progress before a client is dropped (default 10s)
  --handshake-timeout TIME  time a new connection has to send a byte (default 10s)
  --ping-interval TIME      silence before a binary client is pinged (default 30s)
  --drain-timeout TIME      time shutdown waits for queued bytes (default 5s)
  --max-stall TIME          longest pause of a sender's reads while a receiver
                            it filled past half of --max-pending drains
                            (default 10ms; 0 never pauses)
  --token-file PATH         require clients to authenticate with the token in PATH
                            (or set MSGHUB_TOKEN)
  --insecure                allow a non-loopback --host without a token
  --tls-cert PATH           speak TLS with the PEM certificate chain in PATH
  --tls-key PATH            and the PEM private key in PATH (both or neither)
  --metrics-port PORT       serve /metrics and /healthz over HTTP on PORT
  --metrics-host HOST       address of the metrics endpoint (default 127.0.0.1)
  --log-level LEVEL         debug, info, warn or error (default info)
  --log-format FORMAT       text or json: one line per event on stderr
                            (default text)
  --cluster URLS            join a cluster of hubs over NATS, e.g.
                            nats://127.0.0.1:4222[,nats://...] (the NATS
                            server needs JetStream: nats-server -js)
  --cluster-name NAME       hubs with the same name form one cluster
                            (default msghub)
  --cluster-heartbeat TIME  time between heartbeats to the other hubs
                            (default 500ms)
  --cluster-dead-after TIME silence after which a hub is taken for dead
                            (default 3s)
  -h, --help                show this help

TIME is a number with ms, s, m or h (plain numbers are milliseconds);
SIZE is a number of bytes, or with KiB, MiB or GiB.`;

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    hostname.startsWith("127.");
}

async function readToken(
  flags: Record<string, unknown>,
): Promise<string | undefined> {
  const path = stringFlag(flags as never, "token-file");
  if (path !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new UsageError(
        `Cannot read --token-file "${path}": ${(error as Error).message}`,
      );
    }
    return text.trim();
  }
  const allowed = Deno.permissions.querySync({
    name: "env",
    variable: "MSGHUB_TOKEN",
  });
  if (allowed.state !== "granted") return undefined;
  const env = Deno.env.get("MSGHUB_TOKEN");
  return env === undefined || env === "" ? undefined : env;
}

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read --${flag} "${path}": ${(error as Error).message}`,
    );
  }
}

async function readKeyPair(
  flags: ParsedFlags,
): Promise<TlsKeyPair | undefined> {
  const cert = stringFlag(flags, "tls-cert");
  const key = stringFlag(flags, "tls-key");
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      `Option --${cert === undefined ? "tls-key" : "tls-cert"} needs --${
        cert === undefined ? "tls-cert" : "tls-key"
      } as well`,
    );
  }
  return {
    cert: await readPem(cert, "tls-cert"),
    key: await readPem(key, "tls-key"),
  };
}

function metricsOptions(flags: ParsedFlags): MetricsOptions | null {
  const port = intFlag(flags, "metrics-port", 0, 65535);
  const hostname = stringFlag(flags, "metrics-host");
  if (port === undefined) {
    if (hostname !== undefined) {
      throw new UsageError("Option --metrics-host needs --metrics-port");
    }
    return null;
  }
  return { hostname: hostname ?? "127.0.0.1", port };
}

function clusterFlags(flags: ParsedFlags): HubClusterOptions | undefined {
  const servers = stringFlag(flags, "cluster");
  const name = stringFlag(flags, "cluster-name");
  const heartbeat = durationFlag(flags, "cluster-heartbeat");
  const deadAfter = durationFlag(flags, "cluster-dead-after");
  if (servers === undefined) {
    const stray = name !== undefined
      ? "cluster-name"
      : heartbeat !== undefined
      ? "cluster-heartbeat"
      : deadAfter !== undefined
      ? "cluster-dead-after"
      : null;
    if (stray !== null) {
      throw new UsageError(`Option --${stray} needs --cluster`);
    }
    return undefined;
  }
  const cluster: HubClusterOptions = { servers: servers.split(",") };
  if (name !== undefined) cluster.name = name;
  if (heartbeat !== undefined) cluster.heartbeat = heartbeat;
  if (deadAfter !== undefined) cluster.deadAfter = deadAfter;
  return cluster;
}

/** `msghub hub` options: the hub's, and the command's own. */
export type HubCommandOptions = HubOptions & {
  help: boolean;
  /** Where to serve `/metrics`; `null` when not asked to. */
  metrics: MetricsOptions | null;
};

/** Parses `msghub hub` flags into hub options. */
export async function hubOptions(
  args: string[],
  sink: StderrSink = stderrSink,
): Promise<HubCommandOptions> {
  const flags = parseFlags(args, {
    string: [
      "host",
      "port",
      "max-clients",
      "max-pending",
      "write-timeout",
      "handshake-timeout",
      "ping-interval",
      "drain-timeout",
      "max-stall",
      "token-file",
      "log-level",
      "log-format",
      "tls-cert",
      "tls-key",
      "metrics-port",
      "metrics-host",
      "cluster",
      "cluster-name",
      "cluster-heartbeat",
      "cluster-dead-after",
    ],
    boolean: ["help", "insecure"],
    alias: { h: "help" },
  });
  if (flags.help === true) return { help: true, metrics: null };
  if (flags._.length > 0) {
    throw new UsageError(`Unexpected argument: "${flags._[0]}"`);
  }
  const level = stringFlag(flags, "log-level") ?? "info";
  if (!Object.hasOwn(LOG_LEVELS, level)) {
    throw new UsageError(
      `Invalid --log-level: "${level}", expected debug, info, warn or error`,
    );
  }
  const format = stringFlag(flags, "log-format") ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(
      `Invalid --log-format: "${format}", expected text or json`,
    );
  }
  sink.notice = (dropped) =>
    formatLine(format, "warn", "log lines dropped", {
      count: dropped,
      reason: "stderr is not keeping up",
    });
  const options: HubOptions = {
    logger: createLogger({
      level: level as LogLevel,
      format,
      write: sink.write,
    }),
  };
  const set = <K extends keyof HubOptions>(
    key: K,
    value: HubOptions[K] | undefined,
  ) => {
    if (value !== undefined) options[key] = value;
  };
  set("hostname", stringFlag(flags, "host"));
  set("port", intFlag(flags, "port", 0, 65535));
  set("maxClients", intFlag(flags, "max-clients", 1, MAX_LIST_IDS));
  set("maxPending", sizeFlag(flags, "max-pending"));
  set("writeTimeout", durationFlag(flags, "write-timeout"));
  set("handshakeTimeout", durationFlag(flags, "handshake-timeout"));
  set("pingInterval", durationFlag(flags, "ping-interval"));
  set("drainTimeout", durationFlag(flags, "drain-timeout"));
  set("maxStall", durationFlag(flags, "max-stall"));
  set("token", await readToken(flags));
  set("tls", await readKeyPair(flags));
  set("cluster", clusterFlags(flags));
  const host = options.hostname ?? "127.0.0.1";
  if (
    !isLoopback(host) && options.token === undefined && flags.insecure !== true
  ) {
    throw new UsageError(
      `Refusing to listen on "${host}" without a token: anyone who can reach it could read every message. Set --token-file or MSGHUB_TOKEN, or pass --insecure`,
    );
  }
  return { ...options, help: false, metrics: metricsOptions(flags) };
}

/** Runs `msghub hub ARGS`; resolves to the exit code. */
export async function hubCommand(args: string[]): Promise<number> {
  const code = await runHub(args, stderrSink);
  // The log lines go out without ever blocking the hub: see StderrSink.
  await stderrSink.flush();
  return code;
}

async function runHub(args: string[], sink: StderrSink): Promise<number> {
  let options: HubCommandOptions;
  try {
    options = await hubOptions(args, sink);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`msghub hub: ${error.message}\n\n${HUB_USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(HUB_USAGE);
    return 0;
  }
  let hub;
  try {
    hub = await serve(options);
  } catch (error) {
    const reason = error instanceof ConfigError
      ? error.message
      : (error as Error).message;
    console.error(`msghub hub: cannot start: ${reason}`);
    return 1;
  }
  let metrics: MetricsServer | null = null;
  if (options.metrics !== null) {
    try {
      metrics = await serveMetrics(hub, options.metrics);
    } catch (error) {
      console.error(
        `msghub hub: cannot start the metrics endpoint: ${
          (error as Error).message
        }`,
      );
      await hub.shutdown();
      return 1;
    }
  }
  const stop = () => void hub.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.log(`msghub hub listening on ${hub.addr.hostname}:${hub.addr.port}`);
  // /healthz answers 503 while the hub drains; the endpoint goes last.
  await hub.finished;
  await metrics?.shutdown();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}
