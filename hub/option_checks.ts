/**
 * Checks of option values against their rows of {@linkcode HUB_OPTIONS}, and
 * the one error every check throws, worded one way:
 * `Invalid option "NAME": DETAIL`, where NAME is the flag on the command line
 * and the field in `serve()`'s options.
 *
 * @example Parse a flag's text, check a value
 * ```ts
 * import { checkOption, parseOption } from "./option_checks.ts";
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
  DURATION_UNITS,
  either,
  formatNumber,
  type HUB_OPTIONS,
  type HubOptionKey,
  type OptionSpec,
  optionSpec,
  SIZE_UNITS,
} from "./options.ts";

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
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? "ms"]!);
}

/** Bytes, or a number with `B`, `KiB`, `MiB` or `GiB`; `NaN` when none of those. */
function size(text: string): number {
  const match = /^([0-9]+)(B|KiB|MiB|GiB)?$/i.exec(text);
  if (match === null) return NaN;
  const unit = (match[2] ?? "b").toLowerCase();
  const scale = SIZE_UNITS.find(([name]) => name.toLowerCase() === unit)?.[1] ??
    1;
  return Number(match[1]) * scale;
}
