/**
 * Helpers of the `msghub client` subprocess tests: run the CLI to the end,
 * or keep it running and read its stdout line by line.
 */
import { TextLineStream } from "@std/streams/text-line-stream";
import type { Message } from "../../client/mod.ts";
import { deadline } from "../_helpers.ts";

const ROOT = new URL("../..", import.meta.url);
const encoder = new TextEncoder();

/** What a finished `msghub client` run left. */
export interface Output {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

function command(
  args: string[],
  stdin: "piped" | "null",
  env: Record<string, string> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "client", ...args],
    cwd: ROOT,
    env,
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `msghub client ARGS` to completion, feeding it `input` on stdin. */
export async function run(
  args: string[],
  input?: Uint8Array | string,
  env?: Record<string, string>,
): Promise<Output> {
  const child = command(args, input === undefined ? "null" : "piped", env)
    .spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(
      typeof input === "string" ? encoder.encode(input) : input,
    );
    await writer.close();
  }
  const output = await deadline(child.output(), 20_000, "msghub client");
  return {
    code: output.code,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** A running `msghub client` whose stdout is read line by line. */
export class Running implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  #lines: ReadableStreamDefaultReader<string>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(args: string[]) {
    this.child = command(args, "piped").spawn();
    const splitter: TransformStream<string, string> = new TextLineStream();
    this.#lines = this.child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(splitter)
      .getReader();
    this.#stdin = this.child.stdin.getWriter();
  }

  /** The next line of stdout. */
  async line(): Promise<string> {
    const next = await deadline(this.#lines.read(), 20_000, "a line");
    if (next.done) throw new Error("stdout ended before a line");
    return next.value;
  }

  /** Writes to stdin. */
  async write(input: string): Promise<void> {
    await this.#stdin.write(encoder.encode(input));
  }

  async closeStdin(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }

  /** The lines still to come, the exit code and stderr. */
  async finish(): Promise<{ rest: string[]; code: number; stderr: string }> {
    await this.closeStdin();
    const rest: string[] = [];
    for (;;) {
      const next = await deadline(this.#lines.read(), 20_000, "stdout to end");
      if (next.done) break;
      rest.push(next.value);
    }
    const stderr = await deadline(
      new Response(this.child.stderr).text(),
      20_000,
      "stderr to end",
    );
    const { code } = await this.child.status;
    return { rest, code, stderr };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill();
    } catch {
      // Already exited.
    }
    await this.finish().catch(() => {});
  }
}

/** The next message of `iterator`, within a deadline. */
export async function nextMessage(
  iterator: AsyncIterator<Message>,
): Promise<Message> {
  const next = await deadline(iterator.next(), 20_000, "a message");
  if (next.done === true) throw new Error("Messages ended");
  return next.value;
}
