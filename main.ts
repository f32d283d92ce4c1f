/**
 * The `msghub` command: `msghub hub`, `msghub client`, and `--version`.
 * The same entry point serves `deno run main.ts` and the compiled binary.
 *
 * @module
 */
import { benchCommand } from "./cli/bench.ts";
import { clientCommand } from "./cli/client/mod.ts";
import { hubCommand } from "./cli/hub/mod.ts";
import { usageLine } from "./cli/usage.ts";
import denoJson from "./deno.json" with { type: "json" };

const USAGE = `Usage: msghub <command> [options]

Commands:
  hub      run a hub (msghub hub --help)
  client   talk to a hub (msghub client --help)
  bench    measure a hub, or a nats-server (msghub bench --help)

Options:
  -h, --help     show this help
  -V, --version  show the version`;

/**
 * Runs the CLI with `args`; resolves to the process exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * if (await main(["--version"]) !== 0) throw new Error("Expected exit 0");
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "hub":
      return await hubCommand(rest);
    case "client":
      return await clientCommand(rest);
    case "bench":
      return await benchCommand(rest);
    case "-h":
    case "--help":
    case "help":
      console.log(USAGE);
      return 0;
    case "-V":
    case "--version":
      console.log(`msghub ${denoJson.version} (deno ${Deno.version.deno})`);
      return 0;
    case undefined:
      console.error(
        usageLine("msghub", "Missing command: hub, client or bench"),
      );
      return 2;
    default:
      console.error(usageLine("msghub", `Unknown command "${command}"`));
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
