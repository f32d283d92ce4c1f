/**
 * `msghub bench --connections N`: the connection-scale run, a hub of its own
 * and a nats-server side by side, in turn, each fresh and pinned to the
 * server core. The engine is `bench/connections.ts`.
 *
 * @module
 */
import {
  canPin,
  type ConnectionsResult,
  formatInt,
  formatMicros,
  HUB_READY,
  mainPath,
  NATS_READY,
  pinSelf,
  runConnections,
  type ScaleServer,
  type ServerProcess,
  startServer,
} from "../bench/mod.ts";
import { intFlag, parseFlags, UsageError } from "../flags/mod.ts";
import { usageLine } from "./usage.ts";

/** The help text of the connection-scale run, part of `msghub bench --help`. */
export const CONNECTIONS_USAGE =
  `  --connections N    instead of relaying: connect N idle clients (IDENTITY
                     answered; CONNECT and PING answered by nats-server) to a
                     hub of its own and to nats-server in turn, in waves;
                     report connect rate, memory per connection, a list of
                     N ids, and fds and memory after they leave
  --parallel P       connects in flight at once with --connections
                     (default 100; N for a burst)
  --waves W          waves of N clients per server (default 2)
  --rounds R         rounds of msghub then nats-server (default 1)`;

/** Most clients per wave: the fd limit of one process, 20,000 here. */
const MAX_CONNECTIONS = 19_000;

interface Options {
  count: number;
  parallel: number;
  waves: number;
  rounds: number;
  json: boolean;
}

function options(args: string[]): Options {
  const flags = parseFlags(args, {
    string: ["connections", "parallel", "waves", "rounds"],
    boolean: ["json"],
  });
  if (flags._.length > 0) {
    throw new UsageError(`Unexpected argument: "${flags._[0]}"`);
  }
  const known = new Set(["_", "connections", "parallel", "waves", "rounds"]);
  for (const name of Object.keys(flags)) {
    if (!known.has(name) && name !== "json" && flags[name] !== false) {
      throw new UsageError(`Option --${name} does not go with --connections`);
    }
  }
  const count = intFlag(flags, "connections", 1, MAX_CONNECTIONS)!;
  return {
    count,
    parallel: intFlag(flags, "parallel", 1, MAX_CONNECTIONS) ?? 100,
    waves: intFlag(flags, "waves", 1, 10) ?? 2,
    rounds: intFlag(flags, "rounds", 1, 20) ?? 1,
    json: flags.json === true,
  };
}

async function natsAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("nats-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

function start(
  server: ScaleServer,
  pin: boolean,
  count: number,
): Promise<ServerProcess> {
  // As the other runs start it, but with room for every client and the lister.
  const hub = [
    "run",
    "--allow-net",
    mainPath(),
    "hub",
    "--port",
    "0",
    "--log-level",
    "warn",
    "--max-clients",
    String(count + 1),
  ];
  return server === "msghub"
    ? startServer({
      command: Deno.execPath(),
      args: hub,
      stream: "stdout",
      ready: HUB_READY,
      pin,
    })
    : startServer({
      command: "nats-server",
      args: ["-a", "127.0.0.1", "-p", "-1"],
      stream: "stderr",
      ready: NATS_READY,
      pin,
    });
}

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/**
 * The report of one server's run, for people.
 *
 * @example
 * ```ts
 * import { connectionsLines } from "./bench_connections.ts";
 * const lines = connectionsLines({
 *   server: "nats", count: 1, parallel: 1, baselineRssKiB: 1024,
 *   baselineFds: 5, peakRssKiB: 2048, waves: [],
 * });
 * if (!lines[0]!.startsWith("nats")) throw new Error("Expected the server");
 * ```
 */
export function connectionsLines(r: ConnectionsResult): string[] {
  const lines = [
    `${r.server}: ${formatInt(r.count)} clients per wave, ${
      formatInt(r.parallel)
    } in flight; idle ${mib(r.baselineRssKiB)}, ${r.baselineFds} fds; peak ${
      mib(r.peakRssKiB)
    }`,
  ];
  r.waves.forEach((w, i) => {
    const k = w.kernel;
    lines.push(
      `  wave ${i + 1}: ${formatInt(w.perSecond)} connects/s (${
        formatInt(w.connected)
      } in ${formatInt(w.connectMs)} ms${
        w.failed > 0 ? `, ${formatInt(w.failed)} failed` : ""
      }; each p50 ${formatMicros(w.connectP50Us)} p99 ${
        formatMicros(w.connectP99Us)
      } max ${formatMicros(w.connectMaxUs)})`,
      `          ${mib(w.rssKiB)} RSS, ${
        formatInt(w.bytesPerConnection)
      } B per connection over idle, ${w.fds} fds${
        w.listUs === null
          ? ""
          : `; list of ${formatInt(w.connected)} ids in ${
            formatMicros(w.listUs.median)
          } (slowest of 5 ${formatMicros(w.listUs.max)})`
      }`,
      `          left in ${formatInt(w.leaveMs)} ms: ${w.fdsAfter} fds, ${
        mib(w.rssAfterKiB)
      } RSS; kernel: ${k.listenOverflows} listen overflows, ${k.listenDrops} drops, ${k.synCookies} SYN cookies`,
    );
  });
  return lines;
}

/**
 * Runs `msghub bench --connections N ...`; resolves to the exit code: 0 when
 * every connect succeeded, 1 otherwise, 2 on a usage error.
 *
 * @example
 * ```ts ignore
 * import { connectionsCommand } from "./bench_connections.ts";
 * Deno.exit(await connectionsCommand(["--connections", "1000"]));
 * ```
 */
export async function connectionsCommand(args: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = options(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(usageLine("msghub bench", error));
    return 2;
  }
  const pinned = await canPin() && await pinSelf();
  const servers: ScaleServer[] = await natsAvailable()
    ? ["msghub", "nats"]
    : ["msghub"];
  const results: Array<ConnectionsResult & { round: number }> = [];
  const log = (line: string) => (opts.json ? console.error : console.log)(line);
  let ok = true;
  for (let round = 1; round <= opts.rounds; round++) {
    for (const server of servers) {
      let process: ServerProcess | null = null;
      try {
        process = await start(server, pinned, opts.count);
        const result = await runConnections({
          server,
          address: process.address,
          pid: process.pid,
          count: opts.count,
          parallel: opts.parallel,
          waves: opts.waves,
          onProgress: (line) => opts.json || log(`  ${line}`),
        });
        results.push({ ...result, round });
        if (result.waves.some((w) => w.failed > 0)) ok = false;
        if (!opts.json) {
          for (const line of connectionsLines(result)) log(line);
        }
      } catch (error) {
        ok = false;
        console.error(
          `msghub bench: ${server} round ${round}: ${(error as Error).message}`,
        );
      } finally {
        await process?.stop();
      }
    }
  }
  if (opts.json) {
    console.log(JSON.stringify({
      pinning: pinned ? "generator on core 1, server on core 0" : "not pinned",
      results,
    }));
  }
  return ok ? 0 : 1;
}
