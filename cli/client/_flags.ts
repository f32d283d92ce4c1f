/**
 * The command line of `msghub client`, read and checked once into an
 * {@linkcode Invocation}: the command, its options, and the hub to reach
 * (`--url`, `--host`/`--port`, or `MSGHUB_URL`). Every problem is a
 * {@linkcode UsageError}, found before any connection is made.
 *
 * @module
 */
import { parseHubUrl } from "../../client/mod.ts";
import { parseIds } from "../../protocol/mod.ts";
import {
  durationFlag,
  intFlag,
  type ParsedFlags,
  parseFlags,
  stringFlag,
  UsageError,
} from "../../flags/mod.ts";
import type { Target } from "./_connect.ts";
import { describeError } from "./_io.ts";
import { isCommand } from "./_usage.ts";

/** The hub when neither flags nor `MSGHUB_URL` name one. */
const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 1234;
/** How long connecting may take before it is given up, in ms. */
export const DEFAULT_CONNECT_TIMEOUT = 5_000;
/** Round trips `ping` measures without `--count`. */
export const DEFAULT_PING_COUNT = 5;

/** The commands that take `--json`. */
const JSON_COMMANDS = ["identity", "list", "echo", "relay", "listen", "ping"];
/** The commands that take `--count`. */
const COUNT_COMMANDS = ["listen", "ping"];
/** The commands that take no arguments. */
const BARE_COMMANDS = ["", "identity", "list", "listen", "ping"];

/** The command options of one invocation, checked. */
export interface CommandOptions {
  /** `--json`: JSON instead of text. */
  json: boolean;
  /** `listen --out DIR`: save bodies to files in DIR. */
  out?: string;
  /** `relay IDS --file PATH`: the body is the file. */
  file?: string;
  /** `listen --count N` or `ping --count N`. */
  count?: number;
}

/** One `msghub client` command line, checked. */
export interface Invocation {
  /** The command word; `""` is a session. */
  command: string;
  /** The arguments after the command word. */
  args: string[];
  /** `--help`, or `help COMMAND`: print the usage of `command`. */
  help: boolean;
  /** The hub to connect to; absent with `help`. */
  target?: Target;
  /** Milliseconds connecting may take; 0 for no limit. */
  connectTimeout: number;
  /** The options of the command. */
  options: CommandOptions;
}

/** What `parseInvocation` reads besides the arguments. */
export interface Environment {
  /** `MSGHUB_URL`, when set. */
  url?: string | undefined;
  /** `MSGHUB_TOKEN`, when set. */
  token?: string | undefined;
}

/**
 * Reads `MSGHUB_URL` and `MSGHUB_TOKEN`. Without `--allow-env` for one of
 * them it is simply not looked at (no permission prompt).
 *
 * @example
 * ```ts
 * import { readEnvironment } from "./_flags.ts";
 * const env = readEnvironment();
 * if (env.url !== undefined && typeof env.url !== "string") throw new Error("Not text");
 * ```
 */
export function readEnvironment(): Environment {
  const read = (variable: string): string | undefined => {
    const env = Deno.permissions.querySync({ name: "env", variable });
    return env.state === "granted" ? Deno.env.get(variable) : undefined;
  };
  return { url: read("MSGHUB_URL"), token: read("MSGHUB_TOKEN") };
}

/**
 * Parses `msghub client ARGS`. Files named by flags (the token, the CA
 * certificate) are read here, so a bad path is a usage error too.
 *
 * @throws {UsageError} for anything that makes the command line unusable
 *
 * @example
 * ```ts
 * import { parseInvocation } from "./_flags.ts";
 * const invocation = await parseInvocation(["--url", "ws://127.0.0.1:8080/", "list"], {});
 * if (invocation.target?.label !== "ws://127.0.0.1:8080/") throw new Error("Wrong hub");
 * ```
 */
export async function parseInvocation(
  args: string[],
  env: Environment,
): Promise<Invocation> {
  const flags = parseFlags(args, {
    string: [
      "url",
      "host",
      "port",
      "count",
      "token-file",
      "ca-cert",
      "connect-timeout",
      "out",
      "file",
    ],
    boolean: ["help", "tls", "json"],
    alias: { h: "help", p: "port" },
  });
  const [word = "", ...rest] = flags._.map(String);
  if (word === "help") {
    // `msghub client help [COMMAND]` is `msghub client [COMMAND] --help`.
    const topic = rest[0] ?? "";
    if (!isCommand(topic)) throw new UsageError(`Unknown command: "${topic}"`);
    return helpFor(topic);
  }
  const command = word;
  if (!isCommand(command)) {
    throw new UsageError(`Unknown command: "${command}"`);
  }
  const options = commandOptions(command, flags, rest);
  if (flags.help === true) return { ...helpFor(command), args: rest, options };
  if (BARE_COMMANDS.includes(command) && rest.length > 0) {
    throw new UsageError(`Unexpected argument: "${rest[0]}"`);
  }
  if (command === "relay") {
    if (rest.length === 0) throw new UsageError("Missing IDS");
    checkIds(rest[0]!);
  }
  const connectTimeout = durationFlag(flags, "connect-timeout") ??
    DEFAULT_CONNECT_TIMEOUT;
  const target = await targetOf(flags, env);
  return { command, args: rest, help: false, target, connectTimeout, options };
}

function helpFor(command: string): Invocation {
  return {
    command,
    args: [],
    help: true,
    connectTimeout: DEFAULT_CONNECT_TIMEOUT,
    options: { json: false },
  };
}

/**
 * Reads and checks the command options of `command`, whose arguments after
 * the command word are `args`.
 *
 * @throws {UsageError} for an option the command does not take, or `--file`
 * together with TEXT
 */
function commandOptions(
  command: string,
  flags: ParsedFlags,
  args: readonly string[],
): CommandOptions {
  const options: CommandOptions = { json: flags.json === true };
  if (options.json && !JSON_COMMANDS.includes(command)) {
    throw new UsageError(
      "Option --json applies to the commands, not to a session",
    );
  }
  const count = intFlag(flags, "count", 1, 2 ** 31);
  if (count !== undefined) {
    if (!COUNT_COMMANDS.includes(command)) {
      throw new UsageError("Option --count applies to listen and ping only");
    }
    options.count = count;
  }
  const out = nonEmpty(flags, "out");
  if (out !== undefined) {
    if (command !== "listen") {
      throw new UsageError("Option --out applies to listen only");
    }
    options.out = out;
  }
  const file = nonEmpty(flags, "file");
  if (file !== undefined) {
    if (command !== "relay") {
      throw new UsageError("Option --file applies to relay only");
    }
    if (args.length > 1) {
      throw new UsageError(
        "Option --file excludes TEXT: the body is the file",
      );
    }
    options.file = file;
  }
  return options;
}

/**
 * The hub to reach: `--url`; else `--host`, `--port` and `--tls`; else
 * `MSGHUB_URL`; else 127.0.0.1:1234. Flags win over the environment.
 */
async function targetOf(
  flags: ParsedFlags,
  env: Environment,
): Promise<Target> {
  const url = nonEmpty(flags, "url");
  const host = nonEmpty(flags, "host");
  const port = intFlag(flags, "port", 1, 65535);
  const tls = flags.tls === true;
  if (url !== undefined && (host !== undefined || port !== undefined)) {
    throw new UsageError("Option --url excludes --host and --port");
  }
  if (url !== undefined && tls) {
    throw new UsageError(
      "Option --tls excludes --url: use a msghubs: or wss: URL",
    );
  }
  const fromFlags = host !== undefined || port !== undefined || tls;
  const envUrl = env.url === "" ? undefined : env.url;
  const caPath = nonEmpty(flags, "ca-cert");

  let target: Target;
  if (url !== undefined || (!fromFlags && envUrl !== undefined)) {
    const text = url ?? envUrl!;
    let address;
    try {
      address = parseHubUrl(text);
    } catch (error) {
      const message = describeError(error);
      throw new UsageError(
        url === undefined ? `Invalid MSGHUB_URL: ${message}` : message,
      );
    }
    if (caPath !== undefined && !(address.wire === "tcp" && address.tls)) {
      throw new UsageError(
        `Option --ca-cert needs --tls or a msghubs: URL, not "${address.url}"`,
      );
    }
    target = { url: address.url, label: address.url };
  } else {
    if (caPath !== undefined && !tls) {
      throw new UsageError("Option --ca-cert needs --tls or a msghubs: URL");
    }
    const name = host ?? DEFAULT_HOST;
    const shown = name.includes(":") ? `[${name}]` : name;
    const label = `${shown}:${port ?? DEFAULT_PORT}`;
    const hubUrl = `${tls ? "msghubs" : "msghub"}://${label}`;
    try {
      parseHubUrl(hubUrl);
    } catch {
      throw new UsageError(`Invalid --host: "${name}" is not a host name`);
    }
    target = { url: hubUrl, label };
  }
  const token = await readToken(stringFlag(flags, "token-file"), env.token);
  if (token !== undefined) target.token = token;
  if (caPath !== undefined) target.caCerts = [await readCaCert(caPath)];
  return target;
}

function nonEmpty(flags: ParsedFlags, name: string): string | undefined {
  const value = stringFlag(flags, name);
  if (value === "") throw new UsageError(`Option --${name} needs a value`);
  return value;
}

/**
 * Checks the IDS of `relay IDS`: 1 to 255 comma-separated ids.
 *
 * @throws {UsageError} when they are not
 *
 * @example
 * ```ts
 * import { checkIds } from "./_flags.ts";
 * if (checkIds("2,3").length !== 2) throw new Error("Expected two ids");
 * ```
 */
export function checkIds(field: string): bigint[] {
  const ids = parseIds(new TextEncoder().encode(field));
  if (typeof ids === "string") {
    throw new UsageError(ids.charAt(0).toUpperCase() + ids.slice(1));
  }
  return ids;
}

async function readCaCert(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read --ca-cert "${path}": ${describeError(error)}`,
    );
  }
}

async function readToken(
  path: string | undefined,
  fromEnv: string | undefined,
): Promise<string | undefined> {
  let token = fromEnv;
  if (path !== undefined) {
    try {
      token = (await Deno.readTextFile(path)).trim();
    } catch (error) {
      throw new UsageError(
        `Cannot read --token-file "${path}": ${describeError(error)}`,
      );
    }
  }
  return token === "" ? undefined : token;
}
