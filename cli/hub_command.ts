/** `msghub hub`: runs a hub until SIGINT or SIGTERM. */
import { MAX_LIST_IDS } from "../protocol/mod.ts";
import {
  ConfigError,
  type HubLogger,
  type HubOptions,
  type LogLevel,
  serve,
} from "../hub/mod.ts";
import {
  durationFlag,
  intFlag,
  parseFlags,
  sizeFlag,
  stringFlag,
  UsageError,
} from "./flags.ts";

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
  --log-level LEVEL         debug, info, warn or error (default info)
  -h, --help                show this help

TIME is a number with ms, s, m or h (plain numbers are milliseconds);
SIZE is a number of bytes, or with KiB, MiB or GiB.`;

const LEVELS: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/** A logger writing one text line per event to stderr. */
export function stderrLogger(minimum: LogLevel): HubLogger {
  const encoder = new TextEncoder();
  return (level, message, fields) => {
    if (LEVELS[level] < LEVELS[minimum]) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} ${message}`;
    for (const [key, value] of Object.entries(fields)) {
      line += typeof value === "string" && /[\s"=]/.test(value)
        ? ` ${key}=${JSON.stringify(value)}`
        : ` ${key}=${value}`;
    }
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  };
}

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

/** Parses `msghub hub` flags into hub options. */
export async function hubOptions(
  args: string[],
): Promise<HubOptions & { help: boolean }> {
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
    ],
    boolean: ["help", "insecure"],
    alias: { h: "help" },
  });
  if (flags.help === true) return { help: true };
  if (flags._.length > 0) {
    throw new UsageError(`Unexpected argument: "${flags._[0]}"`);
  }
  const level = stringFlag(flags, "log-level") ?? "info";
  if (!(level in LEVELS)) {
    throw new UsageError(
      `Invalid --log-level: "${level}", expected debug, info, warn or error`,
    );
  }
  const options: HubOptions = { logger: stderrLogger(level as LogLevel) };
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
  const host = options.hostname ?? "127.0.0.1";
  if (
    !isLoopback(host) && options.token === undefined && flags.insecure !== true
  ) {
    throw new UsageError(
      `Refusing to listen on "${host}" without a token: anyone who can reach it could read every message. Set --token-file or MSGHUB_TOKEN, or pass --insecure`,
    );
  }
  return { ...options, help: false };
}

/** Runs `msghub hub ARGS`; resolves to the exit code. */
export async function hubCommand(args: string[]): Promise<number> {
  let options: HubOptions & { help: boolean };
  try {
    options = await hubOptions(args);
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
  const stop = () => void hub.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.log(`msghub hub listening on ${hub.addr.hostname}:${hub.addr.port}`);
  await hub.finished;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}
