/**
 * The options of `msghub client` that belong to one command each: `--json`
 * (list, listen), `--out` (listen) and `--file` (relay).
 *
 * @module
 */
import { type ParsedFlags, stringFlag, UsageError } from "../flags.ts";

/** Flags to declare to `parseFlags`, next to the connection's. */
export const COMMAND_FLAGS = {
  string: ["out", "file"],
  boolean: ["json"],
} as const;

/** The command options of one invocation, checked. */
export interface CommandOptions {
  /** `--json`: one JSON value per line. */
  json: boolean;
  /** `listen --out DIR`: save bodies to files in DIR. */
  out?: string;
  /** `relay IDS --file PATH`: the body is the file. */
  file?: string;
}

/**
 * Reads and checks the command options of `command`, whose arguments after
 * the command word are `args`.
 *
 * @throws {UsageError} for an option the command does not take, or `--file`
 * together with TEXT
 *
 * @example
 * ```ts
 * import { commandOptions } from "./_flags.ts";
 * const options = commandOptions("list", { _: [], json: true }, []);
 * if (!options.json) throw new Error("Expected --json");
 * ```
 */
export function commandOptions(
  command: string,
  flags: ParsedFlags,
  args: readonly string[],
): CommandOptions {
  const options: CommandOptions = { json: flags.json === true };
  if (options.json && command !== "list" && command !== "listen") {
    throw new UsageError("Option --json applies to list and listen only");
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

function nonEmpty(flags: ParsedFlags, name: string): string | undefined {
  const value = stringFlag(flags, name);
  if (value === "") throw new UsageError(`Option --${name} needs a value`);
  return value;
}
