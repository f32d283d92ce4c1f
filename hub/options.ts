/**
 * The one table of the hub's options. Each row says once what an option is
 * called, how it is written on the command line, what it takes, its range,
 * its default and its help text; `serve()` validates with it, `msghub hub`
 * parses its flags and writes its usage text from it, and a test checks the
 * README's table against it.
 *
 * @example Read a row, parse a flag's text, check a value
 * ```ts
 * import { checkOption, HUB_OPTIONS, parseOption } from "./options.ts";
 * if (HUB_OPTIONS.writeTimeout.default !== 10_000) throw new Error("default");
 * if (parseOption("writeTimeout", "2s") !== 2000) throw new Error("parse");
 * try {
 *   checkOption("maxClients", 0);
 *   throw new Error("0 clients must be refused");
 * } catch (error) {
 *   if (!String(error).includes('"maxClients": "0" is not')) throw error;
 * }
 * ```
 *
 * @module
 */
import {
  MAX_LIST_IDS,
  MAX_OUTBOUND_FRAME,
  MAX_TOKEN,
} from "../protocol/mod.ts";

/**
 * What an option takes. The kind fixes the unit of a number: a `duration` is
 * milliseconds, a `size` bytes.
 *
 * - `string`: text as given; `min`/`max` bound its length in UTF-8 bytes
 * - `integer`: decimal digits
 * - `duration`: `500ms`, `10s`, `1.5m`, `1h`; a plain number is milliseconds
 * - `size`: bytes, or a number with `KiB`, `MiB` or `GiB`
 * - `choice`: one of the row's `choices`
 * - `list`: comma-separated text
 * - `file`: the flag names a file and the option's value is its text (an
 *   environment variable holds the value itself); `min`/`max` bound the
 *   value's length in UTF-8 bytes
 * - `switch`: on when the flag is given
 */
export type OptionKind =
  | "string"
  | "integer"
  | "duration"
  | "size"
  | "choice"
  | "list"
  | "file"
  | "switch";

/** One row of {@linkcode HUB_OPTIONS}. */
export interface OptionSpec {
  /** The flag, without its dashes: `max-clients` is `--max-clients`. */
  readonly flag: string;
  /** The flag's placeholder in the usage text; none for a switch. */
  readonly arg?: string;
  /**
   * Where `serve()` takes the option (`maxClients`, `cluster.heartbeat`);
   * none for the options of `msghub hub` alone (metrics, logs, `--insecure`).
   */
  readonly field?: string;
  /** An environment variable that gives the value when the flag is absent. */
  readonly env?: string;
  /** What the option takes. */
  readonly kind: OptionKind;
  /** Smallest value; for text, fewest UTF-8 bytes. */
  readonly min?: number;
  /** Largest value; for text, most UTF-8 bytes. */
  readonly max?: number;
  /** The values a `choice` takes. */
  readonly choices?: readonly string[];
  /** The value when the option is not given; none when it is then off. */
  readonly default?: string | number | boolean;
  /** The key of an option that must be given too. */
  readonly needs?: string;
  /** One line of help, Markdown: `code` in backquotes. */
  readonly help: string;
}

const HOUR = 3_600_000;

/**
 * Every option of the hub and of `msghub hub`, in the order the usage text
 * and the README list them.
 */
export const HUB_OPTIONS = {
  hostname: {
    flag: "host",
    arg: "HOST",
    field: "hostname",
    kind: "string",
    default: "127.0.0.1",
    help:
      "address to listen on; a non-loopback one needs a token or `--insecure`",
  },
  port: {
    flag: "port",
    arg: "PORT",
    field: "port",
    kind: "integer",
    min: 0,
    max: 65535,
    default: 1234,
    help:
      "port to listen on; `0` picks a free one, which the listening line names",
  },
  maxClients: {
    flag: "max-clients",
    arg: "N",
    field: "maxClients",
    kind: "integer",
    min: 1,
    max: MAX_LIST_IDS,
    default: 10_000,
    help: "clients at once; the next is refused in its dialect",
  },
  maxPending: {
    flag: "max-pending",
    arg: "SIZE",
    field: "maxPending",
    kind: "size",
    min: MAX_OUTBOUND_FRAME,
    max: 2 ** 40,
    default: 8 * 1024 * 1024,
    help: "unsent bytes for one client before it is dropped as a slow consumer",
  },
  writeTimeout: {
    flag: "write-timeout",
    arg: "TIME",
    field: "writeTimeout",
    kind: "duration",
    min: 1,
    max: HOUR,
    default: 10_000,
    help:
      "no write progress to a client before it is dropped as a slow consumer",
  },
  handshakeTimeout: {
    flag: "handshake-timeout",
    arg: "TIME",
    field: "handshakeTimeout",
    kind: "duration",
    min: 1,
    max: HOUR,
    default: 10_000,
    help:
      "time a new connection has to send its first byte (and to authenticate)",
  },
  pingInterval: {
    flag: "ping-interval",
    arg: "TIME",
    field: "pingInterval",
    kind: "duration",
    min: 1,
    max: HOUR,
    default: 30_000,
    help:
      "silence from a binary client before a PING; two unanswered PINGs close it",
  },
  drainTimeout: {
    flag: "drain-timeout",
    arg: "TIME",
    field: "drainTimeout",
    kind: "duration",
    min: 0,
    max: HOUR,
    default: 5_000,
    help: "how long SIGINT/SIGTERM waits for queued bytes before closing",
  },
  maxStall: {
    flag: "max-stall",
    arg: "TIME",
    field: "maxStall",
    kind: "duration",
    min: 0,
    max: 10_000,
    default: 10,
    help:
      "longest pause of a sender's reads while a receiver it filled past half of `--max-pending` drains; `0` never pauses",
  },
  token: {
    flag: "token-file",
    arg: "PATH",
    field: "token",
    env: "MSGHUB_TOKEN",
    kind: "file",
    min: 1,
    max: MAX_TOKEN,
    help: "clients must send the token in this file first",
  },
  insecure: {
    flag: "insecure",
    kind: "switch",
    default: false,
    help: "allow a non-loopback `--host` without a token",
  },
  tlsCert: {
    flag: "tls-cert",
    arg: "PATH",
    field: "tls.cert",
    kind: "file",
    needs: "tlsKey",
    help: "speak TLS with this PEM certificate chain",
  },
  tlsKey: {
    flag: "tls-key",
    arg: "PATH",
    field: "tls.key",
    kind: "file",
    needs: "tlsCert",
    help: "the PEM private key of `--tls-cert`",
  },
  metricsPort: {
    flag: "metrics-port",
    arg: "PORT",
    kind: "integer",
    min: 0,
    max: 65535,
    help: "serve `/metrics` (Prometheus) and `/healthz` over HTTP on this port",
  },
  metricsHost: {
    flag: "metrics-host",
    arg: "HOST",
    kind: "string",
    default: "127.0.0.1",
    needs: "metricsPort",
    help: "address of the metrics endpoint",
  },
  logLevel: {
    flag: "log-level",
    arg: "LEVEL",
    kind: "choice",
    choices: ["debug", "info", "warn", "error"],
    default: "info",
    help:
      "the least severe event written; `debug` adds every connect, registration and routine close",
  },
  logFormat: {
    flag: "log-format",
    arg: "FORMAT",
    kind: "choice",
    choices: ["text", "json"],
    default: "text",
    help: "`json` writes each log line as one JSON object",
  },
  cluster: {
    flag: "cluster",
    arg: "URLS",
    field: "cluster.servers",
    kind: "list",
    help:
      "join a cluster of hubs over these NATS servers, comma-separated: `nats://host:port` or `nats://user:pass@host:port`; they need JetStream (`-js`)",
  },
  clusterName: {
    flag: "cluster-name",
    arg: "NAME",
    field: "cluster.name",
    kind: "string",
    default: "msghub",
    needs: "cluster",
    help:
      "hubs with the same name form one cluster; 1 to 64 letters, digits, `_` or `-`",
  },
  clusterHeartbeat: {
    flag: "cluster-heartbeat",
    arg: "TIME",
    field: "cluster.heartbeat",
    kind: "duration",
    min: 10,
    max: 60_000,
    default: 500,
    needs: "cluster",
    help: "how often a hub tells the others it is alive",
  },
  clusterDeadAfter: {
    flag: "cluster-dead-after",
    arg: "TIME",
    field: "cluster.deadAfter",
    kind: "duration",
    // Twice the shortest heartbeat; serve() also checks twice the actual one.
    min: 20,
    max: 600_000,
    default: 3_000,
    needs: "cluster",
    help:
      "silence after which the other hubs forget a hub's clients; at least twice `--cluster-heartbeat`",
  },
} as const satisfies Record<string, OptionSpec>;

/** The key of a row of {@linkcode HUB_OPTIONS}. */
export type HubOptionKey = keyof typeof HUB_OPTIONS;

/** The keys of {@linkcode HUB_OPTIONS}, in table order. */
export const HUB_OPTION_KEYS: readonly HubOptionKey[] = Object.keys(
  HUB_OPTIONS,
) as HubOptionKey[];

/** A row of {@linkcode HUB_OPTIONS}, typed as any row. */
export function optionSpec(key: HubOptionKey): OptionSpec {
  return HUB_OPTIONS[key];
}

/**
 * How an option is named in a message: by its flag (`--max-clients`) on the
 * command line, by its field (`maxClients`) in `serve()`'s options.
 */
export type OptionNaming = "flag" | "field";

/** Options of {@linkcode ConfigError} beyond the standard `cause`. */
export interface ConfigErrorOptions extends ErrorOptions {
  /** The option the error is about. */
  option?: HubOptionKey;
  /** What is wrong with it: the message after the option's name. */
  detail?: string;
}

/** Raised for an option that cannot be used. */
export class ConfigError extends Error {
  /** The option the error is about, if it is about one. */
  readonly option: HubOptionKey | undefined;
  /** What is wrong with the option, after its name. */
  readonly detail: string;

  /**
   * Creates the error; {@linkcode invalidOption} builds the usual one.
   *
   * @param message what is wrong with the option, and which one
   * @param options the option, the detail and the error's `cause`, if any
   */
  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, options);
    this.name = "ConfigError";
    this.option = options.option;
    this.detail = options.detail ?? message;
  }

  /**
   * The message with the option named one way or the other; the command
   * line reports a check that `serve()` made with the flag's name.
   */
  messageFor(naming: OptionNaming): string {
    return this.option === undefined
      ? this.message
      : optionMessage(this.option, naming, this.detail);
  }
}

/** The name of an option in a message: `--max-clients` or `maxClients`. */
export function optionName(key: HubOptionKey, naming: OptionNaming): string {
  const spec = optionSpec(key);
  return naming === "flag" || spec.field === undefined
    ? `--${spec.flag}`
    : spec.field;
}

function optionMessage(
  key: HubOptionKey,
  naming: OptionNaming,
  detail: string,
): string {
  return `Invalid option "${optionName(key, naming)}": ${detail}`;
}

/**
 * The error for an option that cannot be used, worded the one way every
 * option check words it: `Invalid option "NAME": DETAIL`.
 *
 * @param key the option
 * @param naming whether to name it by its flag or by its field
 * @param detail what is wrong, e.g. `"abc" is not an integer from 1 to 5`
 */
export function invalidOption(
  key: HubOptionKey,
  naming: OptionNaming,
  detail: string,
): ConfigError {
  return new ConfigError(optionMessage(key, naming, detail), {
    option: key,
    detail,
  });
}

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: HOUR,
};

const SIZES: ReadonlyArray<readonly [string, number]> = [
  ["GiB", 1024 ** 3],
  ["MiB", 1024 ** 2],
  ["KiB", 1024],
];

/** Milliseconds in the largest unit that writes them whole: `10s`, `500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    if (ms > 0 && ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

/** Bytes in the largest unit that writes them whole: `8MiB`, `1049617`. */
export function formatSize(bytes: number): string {
  for (const [unit, scale] of SIZES) {
    if (bytes > 0 && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return String(bytes);
}

/** A number of the option's kind as the command line writes it. */
function formatNumber(spec: OptionSpec, value: number): string {
  return spec.kind === "duration"
    ? formatDuration(value)
    : spec.kind === "size"
    ? formatSize(value)
    : String(value);
}

/** `debug, info, warn or error` */
function either(words: readonly string[]): string {
  return words.length < 2
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** What a number of the option's kind must be, e.g. `a duration from 1ms to 1h`. */
function expected(spec: OptionSpec, min: number): string {
  const what = spec.kind === "duration"
    ? "a duration"
    : spec.kind === "size"
    ? "a size"
    : "an integer";
  return `${what} from ${formatNumber(spec, min)} to ${
    formatNumber(spec, spec.max ?? Number.MAX_SAFE_INTEGER)
  }`;
}

/**
 * The option's default as the command line writes it (`10s`, `8MiB`,
 * `127.0.0.1`), `off` for a switch, or `undefined` when it has none.
 */
export function formatDefault(key: HubOptionKey): string | undefined {
  const spec = optionSpec(key);
  const value = spec.default;
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value ? "on" : "off";
  return typeof value === "number" ? formatNumber(spec, value) : value;
}

/** The option's flag with its placeholder: `--max-clients N`. */
export function optionSynopsis(key: HubOptionKey): string {
  const spec = optionSpec(key);
  return spec.arg === undefined
    ? `--${spec.flag}`
    : `--${spec.flag} ${spec.arg}`;
}

/**
 * The option's help in Markdown: its choices, its help line, the option it
 * needs and its environment variable, from the row.
 */
export function optionHelp(key: HubOptionKey): string {
  const spec = optionSpec(key);
  let text = spec.help;
  if (spec.choices !== undefined) {
    text = `${either(spec.choices.map((c) => `\`${c}\``))}; ${text}`;
  }
  if (spec.needs !== undefined) {
    text += `; needs \`--${optionSpec(spec.needs as HubOptionKey).flag}\``;
  }
  if (spec.env !== undefined) text += ` (or set \`${spec.env}\`)`;
  return text;
}

const encoder = new TextEncoder();

/**
 * Checks a value of an option against its row, naming the option by its
 * field, and returns it; `undefined` gives the default.
 *
 * @param key the option
 * @param value the value `serve()` was given
 * @param min a smallest value tighter than the row's, when another option sets one
 * @throws {ConfigError} when the value is out of the row's range or choices
 */
export function checkOption<K extends HubOptionKey>(
  key: K,
  value: unknown,
  min?: number,
): Resolved<K> {
  const resolved = value ?? optionSpec(key).default;
  check(key, "field", resolved, String(resolved), min);
  return resolved as Resolved<K>;
}

/** A checked value: the row's default stands in, `undefined` for none. */
export type Resolved<K extends HubOptionKey> = (typeof HUB_OPTIONS)[K] extends
  { default: unknown } ? OptionValue<K> : OptionValue<K> | undefined;

/**
 * What a row's value is in `serve()`'s options: a number for the numeric
 * kinds, text for the others, a list for a `list`, a boolean for a switch.
 */
export type OptionValue<K extends HubOptionKey> =
  (typeof HUB_OPTIONS)[K] extends { kind: "integer" | "duration" | "size" }
    ? number
    : (typeof HUB_OPTIONS)[K] extends { kind: "list" } ? string[]
    : (typeof HUB_OPTIONS)[K] extends { kind: "switch" } ? boolean
    : string;

function check(
  key: HubOptionKey,
  naming: OptionNaming,
  value: unknown,
  shown: string,
  min?: number,
): void {
  const spec = optionSpec(key);
  const quoted = `"${shown}"`;
  switch (spec.kind) {
    case "integer":
    case "duration":
    case "size": {
      const low = Math.max(min ?? -Infinity, spec.min ?? 0);
      if (
        typeof value !== "number" || !Number.isInteger(value) ||
        value < low || value > (spec.max ?? Number.MAX_SAFE_INTEGER)
      ) {
        throw invalidOption(
          key,
          naming,
          `${quoted} is not ${expected(spec, low)}`,
        );
      }
      return;
    }
    case "choice":
      if (typeof value !== "string" || !spec.choices?.includes(value)) {
        throw invalidOption(
          key,
          naming,
          `${quoted} is not ${either(spec.choices ?? [])}`,
        );
      }
      return;
    case "switch":
      if (typeof value !== "boolean") {
        throw invalidOption(key, naming, `${quoted} is not true or false`);
      }
      return;
    case "list":
      if (value === undefined) return;
      if (
        !Array.isArray(value) || !value.every((v) => typeof v === "string")
      ) {
        throw invalidOption(key, naming, `${quoted} is not a list of text`);
      }
      return;
    case "string":
    case "file": {
      if (value === undefined) return;
      if (typeof value !== "string") {
        throw invalidOption(key, naming, `${quoted} is not text`);
      }
      // The length only: the value may be a secret, and is not repeated.
      const bytes = encoder.encode(value).length;
      if (
        (spec.min !== undefined && bytes < spec.min) ||
        (spec.max !== undefined && bytes > spec.max)
      ) {
        throw invalidOption(
          key,
          naming,
          `it is ${bytes} bytes, not ${spec.min ?? 0} to ${spec.max}`,
        );
      }
    }
  }
}

/**
 * Parses the text of an option's flag into its value, naming the option by
 * its flag: a duration into milliseconds, a size into bytes, a list into its
 * items. A `file` flag's value is the path, which the caller reads.
 *
 * @param key the option
 * @param text what followed the flag
 * @throws {ConfigError} when the text is not of the option's kind, or out of its range
 */
export function parseOption(
  key: HubOptionKey,
  text: string,
): string | number | string[] {
  const spec = optionSpec(key);
  const bad = () =>
    `"${text}" is not ${
      spec.kind === "choice"
        ? either(spec.choices ?? [])
        : expected(spec, spec.min ?? 0)
    }`;
  switch (spec.kind) {
    case "integer":
    case "duration":
    case "size": {
      const value = spec.kind === "integer"
        ? /^[0-9]+$/.test(text) ? Number(text) : NaN
        : spec.kind === "duration"
        ? duration(text)
        : size(text);
      if (Number.isNaN(value)) throw invalidOption(key, "flag", bad());
      check(key, "flag", value, text);
      return value;
    }
    case "choice":
      check(key, "flag", text, text);
      return text;
    case "list":
      return text.split(",");
    case "switch":
      throw invalidOption(key, "flag", `"${text}" is not a value it takes`);
    default:
      return text;
  }
}

/** `500ms`, `10s`, `1.5m`, `1h` or plain milliseconds; `NaN` when none of those. */
function duration(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text);
  if (match === null) return NaN;
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]!);
}

/** Bytes, or a number with `B`, `KiB`, `MiB` or `GiB`; `NaN` when none of those. */
function size(text: string): number {
  const match = /^([0-9]+)(B|KiB|MiB|GiB)?$/i.exec(text);
  if (match === null) return NaN;
  const unit = (match[2] ?? "b").toLowerCase();
  const scale = SIZES.find(([name]) => name.toLowerCase() === unit)?.[1] ?? 1;
  return Number(match[1]) * scale;
}
