/**
 * Servers under test as subprocesses (a msghub hub, or nats-server), pinned
 * to a core with `taskset` where it exists, and CPU pinning of the generator
 * itself.
 *
 * @module
 */
import { TextLineStream } from "@std/streams/text-line-stream";
import type { Address } from "./driver.ts";

/** Core the server under test runs on when pinning. */
export const SERVER_CORE = 0;
/** Core the generator runs on when pinning. */
export const GENERATOR_CORE = 1;
/** Lines of a server's output kept for diagnostics. */
const KEEP_LINES = 40;

/** A running server; stop it, or `await using` it. */
export interface ServerProcess extends AsyncDisposable {
  /** Its process id. */
  readonly pid: number;
  /** Where it listens, from its ready line. */
  readonly address: Address;
  /** Whether it was pinned to {@linkcode SERVER_CORE}. */
  readonly pinned: boolean;
  /** Its last lines of output, both streams, for diagnostics. */
  readonly lines: readonly string[];
  /** Sends SIGTERM, then SIGKILL if it has not exited in 8 s. */
  stop(): Promise<void>;
}

/** How to start a server and recognise that it is ready. */
export interface StartOptions {
  /** The program to run. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The stream that announces the address. */
  stream: "stdout" | "stderr";
  /** Matches the ready line; groups 1 and 2 are the host and the port. */
  ready: RegExp;
  /** Pin to {@linkcode SERVER_CORE} with taskset. */
  pin: boolean;
  /** Longest wait for the ready line; 20 s when absent. */
  timeoutMs?: number;
}

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Whether `taskset` exists and both pinning cores may be used. */
export function canPin(): Promise<boolean> {
  return succeeds("taskset", [
    "-c",
    `${SERVER_CORE},${GENERATOR_CORE}`,
    "true",
  ]);
}

/**
 * Pins every thread of this process to {@linkcode GENERATOR_CORE}; threads
 * started later inherit it. Resolves to whether it worked.
 */
export function pinSelf(): Promise<boolean> {
  return succeeds("taskset", [
    "-a",
    "-p",
    "-c",
    String(GENERATOR_CORE),
    String(Deno.pid),
  ]);
}

/** Starts a server and resolves once it printed its ready line. */
export async function startServer(
  options: StartOptions,
): Promise<ServerProcess> {
  const command = options.pin ? "taskset" : options.command;
  const args = options.pin
    ? ["-c", String(SERVER_CORE), options.command, ...options.args]
    : options.args;
  const child = new Deno.Command(command, {
    args,
    cwd: repoRoot(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let announce: (address: Address) => void = () => {};
  const announced = new Promise<Address>((resolve) => announce = resolve);
  const drain = async (stream: ReadableStream<Uint8Array>, ready: boolean) => {
    // The package is untyped at this boundary: it yields strings.
    const splitter = new TextLineStream() as TransformStream<string, string>;
    const reader = stream.pipeThrough(new TextDecoderStream())
      .pipeThrough(splitter);
    for await (const line of reader) {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      const match = ready ? options.ready.exec(line) : null;
      if (match !== null) {
        announce({ hostname: match[1]!, port: Number(match[2]) });
      }
    }
  };
  const draining = Promise.all([
    drain(child.stdout, options.stream === "stdout"),
    drain(child.stderr, options.stream === "stderr"),
  ]).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    announced,
    child.status.then(() => "exited" as const),
    new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), options.timeoutMs ?? 20_000);
    }),
  ]);
  clearTimeout(timer);
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      const kill = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }, 8000);
      await child.status;
      clearTimeout(kill);
      await draining;
    })();
    return stopping;
  };
  if (typeof outcome === "string") {
    await stop();
    throw new Error(
      `Cannot start ${options.command}: ${
        outcome === "late" ? "no ready line in time" : "it exited"
      }; its output ended with:\n${lines.slice(-10).join("\n")}`,
    );
  }
  return {
    pid: child.pid,
    address: outcome,
    pinned: options.pin,
    lines,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * `msghub hub` as the bench runs it: any free port, warnings (slow consumers)
 * and worse logged, and measured as operators run it, with the metrics
 * endpoint on.
 */
const HUB_ARGS = [
  "hub",
  "--port",
  "0",
  "--log-level",
  "warn",
  "--metrics-port",
  "0",
];

/** The repository's root directory, where `deno.json` is. */
export function repoRoot(): string {
  return decodeURIComponent(new URL("..", import.meta.url).pathname);
}

/** The path of the repository's `main.ts`. */
export function mainPath(): string {
  return decodeURIComponent(new URL("../main.ts", import.meta.url).pathname);
}

/**
 * Starts `msghub hub --port 0 --metrics-port 0` with this Deno, logging
 * warnings (slow consumers) and worse.
 */
export function startHub(pin: boolean): Promise<ServerProcess> {
  return startServer({
    command: Deno.execPath(),
    args: ["run", "--allow-net", mainPath(), ...HUB_ARGS],
    stream: "stdout",
    ready: /listening on (\S+):([0-9]+)/,
    pin,
  });
}

/** A nats-server with JetStream and two msghub hubs joined through it. */
export interface BenchCluster extends AsyncDisposable {
  /** The nats-server that joins the hubs. */
  readonly nats: ServerProcess;
  /** The hub the senders connect to. */
  readonly senderHub: ServerProcess;
  /** The hub the receivers connect to. */
  readonly receiverHub: ServerProcess;
  /** Stops both hubs, then NATS, and removes NATS's store. */
  stop(): Promise<void>;
}

/**
 * Starts `nats-server -js` on a free port and two hubs in one cluster through
 * it, none of them pinned: four processes share the two cores.
 */
export async function startCluster(): Promise<BenchCluster> {
  const store = await Deno.makeTempDir({ prefix: "msghub-bench-nats-" });
  const started: ServerProcess[] = [];
  const stop = async () => {
    for (const server of started.reverse()) await server.stop();
    await Deno.remove(store, { recursive: true }).catch(() => {});
  };
  try {
    const nats = await startServer({
      command: "nats-server",
      args: ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", store],
      stream: "stderr",
      ready: /Listening for client connections on (\S+):([0-9]+)/,
      pin: false,
    });
    started.push(nats);
    const url = `nats://${nats.address.hostname}:${nats.address.port}`;
    const hub = () =>
      startServer({
        command: Deno.execPath(),
        args: [
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-env",
          mainPath(),
          ...HUB_ARGS,
          "--cluster",
          url,
          "--cluster-name",
          "bench",
        ],
        stream: "stdout",
        ready: /listening on (\S+):([0-9]+)/,
        pin: false,
      });
    const senderHub = await hub();
    started.push(senderHub);
    const receiverHub = await hub();
    started.push(receiverHub);
    return { nats, senderHub, receiverHub, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
