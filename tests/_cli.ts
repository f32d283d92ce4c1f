/** Test helpers for the CLI: `msghub ...` as a subprocess, and a running hub. */
import { TextLineStream } from "@std/streams/text-line-stream";
import { deadline, waitFor } from "./_helpers.ts";

/** The project's root, where `main.ts` is. */
export const ROOT = new URL("..", import.meta.url);

/** What a finished `msghub` run printed. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `msghub ARGS` to its end, with stdin closed. */
export async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<Output> {
  const out = await deadline(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output(),
    20_000,
    `msghub ${args.join(" ")}`,
  );
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Options of {@linkcode HubProcess.start}. */
export interface HubProcessOptions {
  /** Environment variables of the hub. */
  env?: Record<string, string>;
  /** Collect stderr lines in {@linkcode HubProcess.logs}; else discard them. */
  logs?: boolean;
}

function lineReader(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamDefaultReader<string> {
  return stream.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream() as TransformStream<string, string>)
    .getReader();
}

/** A `msghub hub --port 0 ...` subprocess, once it has printed its listening line. */
export class HubProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** The TCP port from the listening line. */
  readonly port: number;
  /** The WebSocket port from the listening line (`ws=HOST:PORT`), if any. */
  readonly wsPort: number | null;
  /** The rest of stdout, line by line. */
  readonly lines: ReadableStreamDefaultReader<string>;
  /** The listening line. */
  readonly first: string;
  /** Lines of stderr so far, when started with `logs`. */
  readonly logs: string[] = [];
  #pump: Promise<void>;

  private constructor(
    child: Deno.ChildProcess,
    lines: ReadableStreamDefaultReader<string>,
    first: string,
    logs: boolean,
  ) {
    this.child = child;
    this.lines = lines;
    this.first = first;
    this.port = Number(/listening on \S+:(\d+)(?: |$)/.exec(first)?.[1]);
    const ws = / ws=\S+:(\d+)/.exec(first)?.[1];
    this.wsPort = ws === undefined ? null : Number(ws);
    this.#pump = logs ? this.#collect() : Promise.resolve();
  }

  static async start(
    args: string[] = [],
    options: HubProcessOptions = {},
  ): Promise<HubProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "hub", "--port", "0", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: options.logs === true ? "piped" : "null",
    }).spawn();
    const lines = lineReader(child.stdout);
    const first = await deadline(lines.read(), 20_000, "the listening line");
    if (first.done) throw new Error("The hub exited before listening");
    return new HubProcess(child, lines, first.value, options.logs === true);
  }

  /** Drains stderr as it comes, so the hub never blocks on a full pipe. */
  async #collect(): Promise<void> {
    const reader = lineReader(this.child.stderr);
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      this.logs.push(value);
    }
  }

  /** The first log line that `match` accepts, waiting for it if need be. */
  async log(match: (line: string) => boolean, what: string): Promise<string> {
    await waitFor(() => this.logs.some(match), what);
    return this.logs.find(match)!;
  }

  /** Sends SIGTERM and resolves to the exit code once stderr is read too. */
  async stop(): Promise<number> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const status = await deadline(this.child.status, 20_000, "the hub to exit");
    await this.#pump;
    await this.lines.cancel();
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
