/**
 * Helpers shared by the CLI commands: typed flag parsing and usage errors.
 * They live in `flags/mod.ts`, below `cli/`, so that `tools/` can use them
 * too; this file keeps the commands' imports short.
 */
export {
  durationFlag,
  type FlagSpec,
  intFlag,
  type ParsedFlags,
  parseFlags,
  sizeFlag,
  stringFlag,
  UsageError,
} from "../flags/mod.ts";
