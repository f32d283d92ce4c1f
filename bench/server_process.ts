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
/** First lines of a server's output kept for diagnostics. */
const HEAD_LINES = 3;
/** Last lines of a server's output shown when it fails to start. */
const TAIL_LINES = 10;

/** A running server; stop it, or `await using` it. */
export interface ServerProcess extends AsyncDisposable {
  /** Its process id. */
  readonly pid: number;
  /** Where it listens, from its ready line. */
  readonly address: Address;
  /** Where it takes WebSocket connections, when asked to: `null` otherwise. */
  readonly wsAddress: Address | null;
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
  /**
   * Matches the line (on the same stream, maybe the ready line itself) that
   * names the WebSocket listener, host and port as groups 1 and 2; the
   * server counts as ready once both lines came.
   */
  wsReady?: RegExp;
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
  /** The first lines too: where a usage error is, before the usage text. */
  const head: string[] = [];
  let seen = 0;
  let address: Address | null = null;
  let wsAddress: Address | null = null;
  let announce: () => void = () => {};
  const announced = new Promise<"ready">((resolve) =>
    announce = () => resolve("ready")
  );
  const wsReady = options.wsReady;
  const found = (match: RegExpExecArray | null): Address | null =>
    match === null ? null : { hostname: match[1]!, port: Number(match[2]) };
  const drain = async (stream: ReadableStream<Uint8Array>, ready: boolean) => {
    // The package is untyped at this boundary: it yields strings.
    const splitter = new TextLineStream() as TransformStream<string, string>;
    const reader = stream.pipeThrough(new TextDecoderStream())
      .pipeThrough(splitter);
    for await (const line of reader) {
      if (head.length < HEAD_LINES) head.push(line);
      seen++;
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      if (!ready) continue;
      address ??= found(options.ready.exec(line));
      if (wsReady !== undefined) wsAddress ??= found(wsReady.exec(line));
      if (address !== null && (wsReady === undefined || wsAddress !== null)) {
        announce();
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
  if (outcome !== "ready" || address === null) {
    await stop();
    const output = seen <= HEAD_LINES + TAIL_LINES
      ? `its output:\n${lines.slice(-seen).join("\n")}`
      : `its output began with:\n${head.join("\n")}\n...and ended with:\n${
        lines.slice(-TAIL_LINES).join("\n")
      }`;
    throw new Error(
      `Cannot start ${options.command}: ${
        outcome === "late"
          ? `no ready line${wsReady === undefined ? "" : "s"} in time`
          : "it exited"
      }; ${output}`,
    );
  }
  return {
    pid: child.pid,
    address,
    wsAddress,
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

/** The hub's ready line: `msghub hub listening on HOST:PORT`. */
export const HUB_READY = /listening on (\S+):([0-9]+)/;
/**
 * The WebSocket address in the hub's ready line, started with `--ws-port`:
 * `... ws=HOST:PORT` (a `ws://` or `wss://` before the host is allowed).
 */
export const HUB_WS_READY = /\bws=(?:wss?:\/\/)?(\S+):([0-9]+)/;
/** nats-server's line (on stderr) naming its client port. */
export const NATS_READY = /Listening for client connections on (\S+):([0-9]+)/;
/** nats-server's line naming its WebSocket port. */
export const NATS_WS_READY =
  /Listening for websocket clients on wss?:\/\/(\S+):([0-9]+)/;
/**
 * The nats-server config block of a WebSocket listener without TLS on
 * loopback; `port: -1` has nats-server pick a free port (v2.9 does; port 0
 * would turn the listener off), which it names on its
 * {@linkcode NATS_WS_READY} line.
 */
export const NATS_WS_CONFIG = `websocket {
  host: 127.0.0.1
  port: -1
  no_tls: true
}
`;

/** The repository's root directory, where `deno.json` is. */
export function repoRoot(): string {
  return decodeURIComponent(new URL("..", import.meta.url).pathname);
}

/** The path of the repository's `main.ts`. */
export function mainPath(): string {
  return decodeURIComponent(new URL("../main.ts", import.meta.url).pathname);
}

/** The hub's arguments for a WebSocket listener on a free port. */
const HUB_WS_ARGS = ["--ws-port", "0"];

/**
 * Starts `msghub hub --port 0 --metrics-port 0` with this Deno, logging
 * warnings (slow consumers) and worse; with `ws`, also `--ws-port 0`.
 */
export function startHub(
  pin: boolean,
  options: { ws?: boolean } = {},
): Promise<ServerProcess> {
  const ws = options.ws === true;
  return startServer({
    command: Deno.execPath(),
    args: [
      "run",
      "--allow-net",
      mainPath(),
      ...HUB_ARGS,
      ...(ws ? HUB_WS_ARGS : []),
    ],
    stream: "stdout",
    ready: HUB_READY,
    ...(ws ? { wsReady: HUB_WS_READY } : {}),
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
 * it, none of them pinned: four processes share the two cores. With `ws`,
 * both hubs listen for WebSocket clients too.
 */
export async function startCluster(
  options: { ws?: boolean } = {},
): Promise<BenchCluster> {
  const ws = options.ws === true;
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
      ready: NATS_READY,
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
          ...(ws ? HUB_WS_ARGS : []),
        ],
        stream: "stdout",
        ready: HUB_READY,
        ...(ws ? { wsReady: HUB_WS_READY } : {}),
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
