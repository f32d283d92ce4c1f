/**
 * `msghub hub`: runs a hub until SIGINT or SIGTERM. Its flags, their checks
 * and its usage text come from the option table, `hub/options.ts`, and its
 * checks, `hub/option_checks.ts`.
 *
 * @module
 */
import {
  ConfigError,
  type HubOptions,
  listenMetrics,
  type LogLevel,
  type MetricsOptions,
  type MetricsServer,
  serve,
} from "../../hub/mod.ts";
import {
  formatDefault,
  HUB_OPTION_KEYS,
  HUB_OPTIONS,
  type HubOptionKey,
  optionHelp,
  optionSpec,
  optionSynopsis,
} from "../../hub/options.ts";
import { optionName, parseOption } from "../../hub/option_checks.ts";
import {
  type ParsedFlags,
  parseFlags,
  stringFlag,
  UsageError,
} from "../../flags/mod.ts";
import {
  createLogger,
  formatLine,
  type StderrSink,
  stderrSink,
} from "./log.ts";
import { usageLine } from "../usage.ts";

/** The table's log levels are the logger's: checked when this compiles. */
const LEVELS: readonly LogLevel[] = HUB_OPTIONS.logLevel.choices;

/** The width `msghub hub --help` wraps its lines to. */
const USAGE_WIDTH = 80;

/** Wraps `text` into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** The options part of the usage text: one entry per row of the table. */
function optionLines(): string {
  const rows = HUB_OPTION_KEYS.map((key) => {
    const fallback = optionSpec(key).kind === "switch"
      ? undefined
      : formatDefault(key);
    const help = optionHelp(key) +
      (fallback === undefined ? "" : ` (default ${fallback})`);
    return [optionSynopsis(key), help.replaceAll("`", "")] as const;
  });
  rows.push(["-h, --help", "show this help"]);
  const column = Math.max(...rows.map(([flag]) => flag.length)) + 1;
  const indent = " ".repeat(2 + column + 1);
  return rows.map(([flag, help]) =>
    wrap(help, USAGE_WIDTH - indent.length)
      .map((line, i) =>
        i === 0 ? `  ${flag.padEnd(column)} ${line}` : indent + line
      )
      .join("\n")
  ).join("\n");
}

/** `msghub hub --help`. */
export const HUB_USAGE = `Usage: msghub hub [options]

Runs a hub. It prints one line, "msghub hub listening on HOST:PORT" (with
" ws=HOST:PORT" after it when --ws-port is given), and serves until SIGINT
or SIGTERM, then drains and exits 0.

Options:
${optionLines()}

TIME is a number with ms, s, m or h (plain numbers are milliseconds);
SIZE is a number of bytes, or with KiB, MiB or GiB.`;

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    hostname.startsWith("127.");
}

/** The values of the table's options given as flags, parsed and checked. */
type Given = Map<HubOptionKey, string | number | string[] | boolean>;

/** Reads every flag of the table, checking it against its row. */
function readFlags(flags: ParsedFlags): Given {
  const given: Given = new Map();
  for (const key of HUB_OPTION_KEYS) {
    const spec = optionSpec(key);
    if (spec.kind === "switch") {
      if (flags[spec.flag] === true) given.set(key, true);
      continue;
    }
    const text = stringFlag(flags, spec.flag);
    if (text === undefined) continue;
    try {
      given.set(key, parseOption(key, text));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new UsageError(error.message);
    }
  }
  for (const key of given.keys()) {
    const needs = optionSpec(key).needs as HubOptionKey | undefined;
    if (needs !== undefined && !given.has(needs)) {
      throw new UsageError(
        `Option ${optionName(key, "flag")} needs ${
          optionName(needs, "flag")
        } as well`,
      );
    }
  }
  return given;
}

/**
 * The value of each `file` option: the text of the file its flag names, or
 * else its environment variable, when that may be read and is not empty.
 */
async function readFiles(given: Given): Promise<void> {
  for (const key of HUB_OPTION_KEYS) {
    const spec = optionSpec(key);
    if (spec.kind !== "file") continue;
    const path = given.get(key);
    if (typeof path === "string") {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        throw new UsageError(
          `Cannot read ${optionName(key, "flag")} "${path}": ${
            (error as Error).message
          }`,
        );
      }
      // A token file ends with a line end that is not part of the token.
      given.set(key, key === "token" ? text.trim() : text);
    } else if (spec.env !== undefined) {
      const allowed = Deno.permissions.querySync({
        name: "env",
        variable: spec.env,
      });
      if (allowed.state !== "granted") continue;
      const env = Deno.env.get(spec.env);
      if (env !== undefined && env !== "") given.set(key, env);
    }
  }
}

/** Puts each given option where `serve()` takes it (`cluster.name`, ...). */
function hubOptionsOf(given: Given): HubOptions {
  const options: Record<string, unknown> = {};
  for (const [key, value] of given) {
    const field = optionSpec(key).field;
    if (field === undefined) continue;
    const [outer, inner] = field.split(".") as [string, string?];
    if (inner === undefined) {
      options[outer] = value;
    } else {
      const nested = (options[outer] ??= {}) as Record<string, unknown>;
      nested[inner] = value;
    }
  }
  return options as HubOptions;
}

/** `msghub hub` options: the hub's, and the command's own. */
export type HubCommandOptions = HubOptions & {
  help: boolean;
  /** Where to serve `/metrics`; `null` when not asked to. */
  metrics: MetricsOptions | null;
};

/** The flags of the table, as `parseFlags` wants them. */
const FLAG_SPEC = {
  string: HUB_OPTION_KEYS.filter((key) => optionSpec(key).kind !== "switch")
    .map((key) => optionSpec(key).flag),
  boolean: [
    "help",
    ...HUB_OPTION_KEYS.filter((key) => optionSpec(key).kind === "switch")
      .map((key) => optionSpec(key).flag),
  ],
  alias: { h: "help" },
};

/** Parses `msghub hub` flags into hub options. */
export async function hubOptions(
  args: string[],
  sink: StderrSink = stderrSink,
): Promise<HubCommandOptions> {
  const flags = parseFlags(args, FLAG_SPEC);
  if (flags.help === true) return { help: true, metrics: null };
  if (flags._.length > 0) {
    throw new UsageError(`Unexpected argument: "${flags._[0]}"`);
  }
  const given = readFlags(flags);
  await readFiles(given);
  const level = (given.get("logLevel") ??
    HUB_OPTIONS.logLevel.default) as typeof LEVELS[number];
  const format = (given.get("logFormat") ?? HUB_OPTIONS.logFormat.default) as
    | "text"
    | "json";
  sink.notice = (dropped) =>
    formatLine(format, "warn", "log lines dropped", {
      count: dropped,
      reason: "stderr is not keeping up",
    });
  const options: HubOptions = {
    ...hubOptionsOf(given),
    logger: createLogger({ level, format, write: sink.write }),
  };
  const tcpHost = options.hostname ?? HUB_OPTIONS.hostname.default;
  // The WebSocket listener is as open as the TCP one: the same rule holds.
  const host = [tcpHost, options.wsHostname ?? tcpHost].find((h) =>
    !isLoopback(h)
  );
  if (
    host !== undefined && options.token === undefined &&
    !given.has("insecure")
  ) {
    throw new UsageError(
      `Refusing to listen on "${host}" without a token: anyone who can reach it could read every message. Set --token-file or MSGHUB_TOKEN, or pass --insecure`,
    );
  }
  const port = given.get("metricsPort") as number | undefined;
  const metrics = port === undefined ? null : {
    hostname:
      (given.get("metricsHost") ?? HUB_OPTIONS.metricsHost.default) as string,
    port,
  };
  return { ...options, help: false, metrics };
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
    console.error(usageLine("msghub hub", error));
    return 2;
  }
  if (options.help) {
    console.log(HUB_USAGE);
    return 0;
  }
  // The monitoring port is bound first: when it is taken, the hub never
  // listens, and nobody is told it does.
  let metrics: MetricsServer | null = null;
  if (options.metrics !== null) {
    try {
      metrics = listenMetrics({ ...options.metrics, logger: options.logger! });
    } catch (error) {
      console.error(
        `msghub hub: cannot start the metrics endpoint: ${
          (error as Error).message
        }`,
      );
      return 1;
    }
  }
  let hub;
  try {
    hub = await serve(options);
  } catch (error) {
    await metrics?.shutdown();
    // serve() names a bad option by its field; here it was a flag.
    const reason = error instanceof ConfigError
      ? error.messageFor("flag")
      : (error as Error).message;
    console.error(`msghub hub: cannot start: ${reason}`);
    return 1;
  }
  metrics?.attach(hub);
  const stop = () => void hub.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const ws = hub.wsAddr === null
    ? ""
    : ` ws=${hub.wsAddr.hostname}:${hub.wsAddr.port}`;
  console.log(
    `msghub hub listening on ${hub.addr.hostname}:${hub.addr.port}${ws}`,
  );
  // /healthz answers 503 while the hub drains; the endpoint goes last.
  await hub.finished;
  await metrics?.shutdown();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}
