/**
 * The one line a usage error prints, the same for every `msghub` command:
 * the problem, then where the help is. The whole usage is for `--help`; a
 * mistyped flag should not scroll it past.
 *
 * @module
 */

/**
 * `msghub client: unknown option: "--bogus"; run msghub client --help`: the
 * problem after `program`, its first letter lowered (a leading acronym
 * keeps its capitals), and the command whose `--help` explains it (`program`
 * unless given).
 *
 * @example
 * ```ts
 * import { usageLine } from "./usage.ts";
 * const line = usageLine("msghub bench", new Error("Invalid --size: \"x\""));
 * if (line !== 'msghub bench: invalid --size: "x"; run msghub bench --help') {
 *   throw new Error(line);
 * }
 * ```
 */
export function usageLine(
  program: string,
  problem: unknown,
  help: string = program,
): string {
  const text = problem instanceof Error ? problem.message : String(problem);
  const lowered = /^[A-Z]{2}/.test(text)
    ? text
    : text.charAt(0).toLowerCase() + text.slice(1);
  return `${program}: ${lowered}; run ${help} --help`;
}
