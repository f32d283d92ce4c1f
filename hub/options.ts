/**
 * The one table of the hub's options. Each row says once what an option is
 * called, how it is written on the command line, what it takes, its range,
 * its default and its help text. `serve()` validates with it and
 * `msghub hub` parses its flags with it (both through `option_checks.ts`),
 * `msghub hub` writes its usage text from it, and a test checks the README's
 * table against it.
 *
 * @example Read a row and show it as the usage text does
 * ```ts
 * import { formatDefault, HUB_OPTIONS, optionSynopsis } from "./options.ts";
 * if (HUB_OPTIONS.writeTimeout.default !== 10_000) throw new Error("default");
 * if (optionSynopsis("writeTimeout") !== "--write-timeout TIME") throw new Error();
 * if (formatDefault("maxPending") !== "8MiB") throw new Error("8MiB");
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
  wsPort: {
    flag: "ws-port",
    arg: "PORT",
    field: "wsPort",
    kind: "integer",
    min: 0,
    max: 65535,
    help:
      "also accept WebSocket clients here (`wss://` with `--tls-cert`); `0` picks a free one, named `ws=HOST:PORT` in the listening line",
  },
  wsHostname: {
    flag: "ws-host",
    arg: "HOST",
    field: "wsHostname",
    kind: "string",
    needs: "wsPort",
    help: "address of the WebSocket listener; by default `--host`'s",
  },
  wsOrigins: {
    flag: "ws-origin",
    arg: "ORIGINS",
    field: "wsOrigins",
    kind: "list",
    needs: "wsPort",
    help:
      "comma-separated origins (`https://host[:port]`) whose pages may connect; others get HTTP 403",
  },
  metricsPort: {
    flag: "metrics-port",
    arg: "PORT",
    kind: "integer",
    min: 0,
    max: 65535,
    help:
      "serve the web console, `/hubz`, `/connz`, `/metrics` (Prometheus) and `/healthz` over HTTP on this port",
  },
  metricsHost: {
    flag: "metrics-host",
    arg: "HOST",
    kind: "string",
    default: "127.0.0.1",
    needs: "metricsPort",
    help: "address of the monitoring endpoint",
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
  clusterStartTimeout: {
    flag: "cluster-start-timeout",
    arg: "TIME",
    field: "cluster.startTimeout",
    kind: "duration",
    min: 1,
    max: HOUR,
    default: 60_000,
    needs: "cluster",
    help:
      "how long a starting hub retries NATS and JetStream (down, or electing a leader) before it gives up",
  },
  clusterReplicas: {
    flag: "cluster-replicas",
    arg: "N",
    field: "cluster.replicas",
    kind: "integer",
    min: 1,
    max: 5,
    default: 1,
    needs: "cluster",
    help:
      "replicas of the hub-numbering stream when a hub creates it; `3` on a 3-node NATS cluster keeps numbering through the loss of a node",
  },
  clusterAckTimeout: {
    flag: "cluster-ack-timeout",
    arg: "TIME",
    field: "cluster.ackTimeout",
    kind: "duration",
    min: 10,
    max: 60_000,
    default: 1_000,
    needs: "cluster",
    help:
      "how long a receipt waits for another hub to confirm it queued a relay; unconfirmed receivers are reported unknown",
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

/** Milliseconds in each unit of a duration. */
export const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: HOUR,
};

/** Bytes in each unit of a size, largest first. */
export const SIZE_UNITS: ReadonlyArray<readonly [string, number]> = [
  ["GiB", 1024 ** 3],
  ["MiB", 1024 ** 2],
  ["KiB", 1024],
];

/** Milliseconds in the largest unit that writes them whole: `10s`, `500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    if (ms > 0 && ms % DURATION_UNITS[unit]! === 0) {
      return `${ms / DURATION_UNITS[unit]!}${unit}`;
    }
  }
  return `${ms}ms`;
}

/** Bytes in the largest unit that writes them whole: `8MiB`, `1049617`. */
export function formatSize(bytes: number): string {
  for (const [unit, scale] of SIZE_UNITS) {
    if (bytes > 0 && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return String(bytes);
}

/** A number of the option's kind as the command line writes it: `10s`, `8MiB`, `5`. */
export function formatNumber(spec: OptionSpec, value: number): string {
  return spec.kind === "duration"
    ? formatDuration(value)
    : spec.kind === "size"
    ? formatSize(value)
    : String(value);
}

/** Words joined as a sentence lists them: `debug, info, warn or error`. */
export function either(words: readonly string[]): string {
  return words.length < 2
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
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
