/**
 * The hub under soak: a `msghub hub` subprocess of this Deno, started with a
 * free port and stopped with SIGTERM.
 *
 * @module
 */
import { TextLineStream } from "@std/streams/text-line-stream";
import { repoRoot } from "../../bench/mod.ts";

/** The probe's script, `probe.ts` beside this file. */
const PROBE = decodeURIComponent(
  new URL("./probe.ts", import.meta.url).pathname,
);

/** How the hub ended, once it has. */
export interface HubExit {
  /** The exit code. */
  code: number;
  /** The signal that ended it, if one did. */
  signal: Deno.Signal | null;
  /** Whether it ended before {@linkcode SoakHub.stop} asked it to. */
  unasked: boolean;
}

/** A running `msghub hub`; its stderr lines go to `onLog`. */
export class SoakHub {
  /** Its process id. */
  readonly pid: number;
  /** Where it listens, from its listening line. */
  readonly address: Deno.NetAddr;
  /** The arguments after the Deno executable, for the record. */
  readonly args: readonly string[];
  /** Set once the process has exited. */
  exit: HubExit | null = null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<HubExit>;
  #child: Deno.ChildProcess;
  #stopping = false;

  private constructor(
    child: Deno.ChildProcess,
    address: Deno.NetAddr,
    args: string[],
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.address = address;
    this.args = args;
    this.exited = child.status.then((status) => {
      this.exit = {
        code: status.code,
        signal: status.signal,
        unasked: !this.#stopping,
      };
      return this.exit;
    });
  }

  /**
   * Starts the hub and resolves once it printed its listening line. Its
   * stderr is this process's: the hub writes its log synchronously, so a
   * pipe that this process drained late could stall the hub under test.
   */
  static async start(
    maxClients: number,
    logLevel: string,
  ): Promise<SoakHub> {
    const root = repoRoot();
    const args = [
      "run",
      "-A",
      "main.ts",
      "hub",
      "--port",
      "0",
      "--max-clients",
      String(maxClients),
      "--log-level",
      logLevel,
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const stdout = lines(child.stdout);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const first = await Promise.race([
        stdout.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("Cannot start the hub: no listening line")),
            30_000,
          );
        }),
      ]);
      const match = first.done
        ? null
        : /listening on (\S+):([0-9]+)(?: |$)/.exec(first.value);
      if (match === null) {
        throw new Error(
          `Cannot start the hub: expected its listening line, got "${
            first.value ?? "end of output"
          }"`,
        );
      }
      // Keep draining stdout so the hub never blocks on it.
      void (async () => {
        while (!(await stdout.read().catch(() => ({ done: true }))).done) {
          // Nothing else is expected.
        }
      })();
      return new SoakHub(
        child,
        { transport: "tcp", hostname: match[1]!, port: Number(match[2]) },
        args,
      );
    } catch (error) {
      kill(child, "SIGKILL");
      await child.status;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves to how it ended. */
  async stop(graceMs = 10_000): Promise<HubExit> {
    if (this.exit !== null) return this.exit;
    this.#stopping = true;
    kill(this.#child, "SIGTERM");
    const timer = setTimeout(() => kill(this.#child, "SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

function lines(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamDefaultReader<string> {
  // The package is untyped at this boundary: it yields strings.
  const splitter = new TextLineStream() as TransformStream<string, string>;
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(splitter)
    .getReader();
}

/** The probe subprocess (`probe.ts`) and what it measured. */
export class HubProbe {
  /** The slowest PING to PONG of the last second reported, ms; `null` once stopped. */
  lastWorstMs: number | null = 0;
  /** The slowest of the whole run, ms. */
  worstMs = 0;
  /** Seconds whose slowest PONG took a second or more. */
  slowSeconds = 0;
  #child: Deno.ChildProcess;
  #reading: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#reading = this.#read(lines(child.stdout));
  }

  /** Starts pinging the hub on `port`. */
  static start(port: number): HubProbe {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", PROBE, String(port)],
      cwd: repoRoot(),
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return new HubProbe(child);
  }

  /** Stops the probe and closes its connection. */
  async stop(): Promise<void> {
    kill(this.#child, "SIGTERM");
    await this.#child.status;
    await this.#reading;
    this.lastWorstMs = null;
  }

  async #read(reader: ReadableStreamDefaultReader<string>): Promise<void> {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        const worst = Number(value.split(" ")[0]);
        if (!Number.isFinite(worst)) continue;
        this.lastWorstMs = worst;
        this.worstMs = Math.max(this.worstMs, worst);
        if (worst >= 1000) this.slowSeconds++;
      }
    } catch {
      // The probe is gone.
    }
  }
}
