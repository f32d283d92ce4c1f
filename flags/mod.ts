/**
 * Typed command-line flags and usage errors, shared by the `msghub`
 * subcommands (`cli/`) and the development programs (`tools/`). It imports
 * nothing of ours, so every program can use it without importing upward.
 *
 * @example Parse flags and read them typed
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { durationFlag, intFlag, parseFlags } from "./mod.ts";
 *
 * const flags = parseFlags(["--count", "3", "--wait", "2s"], {
 *   string: ["count", "wait"],
 * });
 * assertEquals(intFlag(flags, "count", 1, 10), 3);
 * assertEquals(durationFlag(flags, "wait"), 2000);
 * ```
 *
 * @module
 */
import { parseArgs } from "@std/cli/parse-args";

/** What `parseArgs` returns, typed at the boundary of the untyped package. */
export interface ParsedFlags {
  /** The positional arguments, as typed. */
  _: Array<string | number>;
  /** Each flag's value: a string, a boolean, or absent. */
  [flag: string]: unknown;
}

/** The subset of `parseArgs` options the commands use. */
export interface FlagSpec {
  /** Flags that take a value. */
  string?: string[];
  /** Flags that are on or off. */
  boolean?: string[];
  /** Short names for long ones, such as `{ h: "help" }`. */
  alias?: Record<string, string>;
  /** Values of flags that are not given. */
  default?: Record<string, string | boolean>;
}

/** A command line that cannot be run; the CLI prints it with the usage. */
export class UsageError extends Error {
  /** Makes the error; `message` says what is wrong with the command line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses flags, rejecting unknown ones. Positional arguments stay strings as
 * typed: `relay 2,3 007` must not turn the body "007" into the number 7.
 */
export function parseFlags(args: string[], spec: FlagSpec): ParsedFlags {
  const known = new Set([...(spec.string ?? []), ...(spec.boolean ?? [])]);
  for (const [short, long] of Object.entries(spec.alias ?? {})) {
    known.add(short);
    known.add(long);
  }
  let unknown: string | undefined;
  const parsed: ParsedFlags = parseArgs(args, {
    ...spec,
    // "_" keeps positionals as typed: "007" must not become 7.
    string: [...(spec.string ?? []), "_"],
    stopEarly: false,
    unknown: (arg: string, key?: string) => {
      if (key === undefined) return true;
      unknown ??= arg;
      return false;
    },
  });
  if (unknown !== undefined) {
    throw new UsageError(`Unknown option: "${unknown}"`);
  }
  return parsed;
}

/** A flag's string value, or `undefined` when absent. */
export function stringFlag(
  flags: ParsedFlags,
  name: string,
): string | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new UsageError(`Option --${name} needs a value`);
  }
  return value;
}

/** An integer flag within a range. */
export function intFlag(
  flags: ParsedFlags,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new UsageError(
      `Invalid --${name}: "${text}", expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A duration flag (`500ms`, `10s`, `2m`, or plain milliseconds), in ms. */
export function durationFlag(
  flags: ParsedFlags,
  name: string,
): number | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text);
  if (match === null) {
    throw new UsageError(
      `Invalid --${name}: "${text}", expected a duration such as 500ms, 10s or 2m`,
    );
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]!);
}

/** A size flag (`8MiB`, `64KiB`, `1048576`), in bytes. */
export function sizeFlag(flags: ParsedFlags, name: string): number | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  const match = /^([0-9]+)(B|KiB|MiB|GiB)?$/i.exec(text);
  if (match === null) {
    throw new UsageError(
      `Invalid --${name}: "${text}", expected a size such as 8MiB or 65536`,
    );
  }
  const unit = (match[2] ?? "b").toLowerCase();
  const scale = unit === "kib"
    ? 1024
    : unit === "mib"
    ? 1024 ** 2
    : unit === "gib"
    ? 1024 ** 3
    : 1;
  return Number(match[1]) * scale;
}
