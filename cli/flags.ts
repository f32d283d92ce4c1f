/** Helpers shared by the CLI commands: typed flag parsing and usage errors. */
import { parseArgs } from "@std/cli/parse-args";

/** What `parseArgs` returns, typed at the boundary of the untyped package. */
export interface ParsedFlags {
  _: Array<string | number>;
  [flag: string]: unknown;
}

/** The subset of `parseArgs` options the commands use. */
export interface FlagSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  default?: Record<string, string | boolean>;
}

/** A command line that cannot be run; the CLI prints it with the usage. */
export class UsageError extends Error {
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
