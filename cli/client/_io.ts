/**
 * Output and error wording shared by `msghub client`'s commands and its
 * sessions: the streams it writes to, one serialised writer per stream, and
 * one line per failure.
 *
 * @module
 */
import {
  ConnectError,
  ConnectionClosedError,
  HubError,
} from "../../client/mod.ts";
import type { Received } from "./_hub_client.ts";

/** Something bytes can be written to; `Deno.stdout` fits. */
export interface Writer {
  /** Writes some bytes of `p`, resolving to how many. */
  write(p: Uint8Array): Promise<number>;
  /** Whether this is a terminal; absent means not. */
  isTerminal?(): boolean;
}

/** The streams `msghub client` uses; tests pass their own. */
export interface ClientIo {
  /** Commands, or the body of `relay IDS` without text; `Deno.stdin` fits. */
  stdin: {
    readonly readable: ReadableStream<Uint8Array>;
    isTerminal(): boolean;
    /** Raw mode on a terminal; without it a session does no line editing. */
    setRaw?(mode: boolean): void;
  };
  /** Answers and messages. */
  stdout: Writer;
  /** Errors. */
  stderr: Writer;
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Serialises writes to one stream, so a message printed while an answer is
 * being printed never splits its line.
 */
export class Output {
  #writer: Writer;
  #tail: Promise<void> = Promise.resolve();

  /** Makes the output of `writer`; nothing else should write to it. */
  constructor(writer: Writer) {
    this.#writer = writer;
  }

  /** Writes the parts back to back, after every earlier write. */
  write(...parts: Array<Uint8Array | string>): Promise<void> {
    const run = this.#tail.then(async () => {
      for (const part of parts) {
        await writeAll(
          this.#writer,
          typeof part === "string" ? encoder.encode(part) : part,
        );
      }
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Writes one line. */
  line(text: string): Promise<void> {
    return this.write(`${text}\n`);
  }
}

async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  let rest = bytes;
  while (rest.length > 0) rest = rest.subarray(await writer.write(rest));
}

/**
 * `message from 1: ` followed by the body as text, or a note when binary.
 *
 * @example
 * ```ts
 * import { messageText } from "./_io.ts";
 * const line = messageText({ sender: 1n, body: new Uint8Array([0xff]) });
 * if (line !== "message from 1: <1 bytes, binary>") throw new Error(line);
 * ```
 */
export function messageText(message: Received): string {
  let text: string;
  try {
    text = utf8.decode(message.body);
  } catch {
    text = `<${message.body.length} bytes, binary>`;
  }
  return `message from ${message.sender}: ${text}`;
}

/**
 * One line about a failure, for `msghub: ...` on stderr: no stack trace.
 *
 * @example
 * ```ts
 * import { describeError } from "./_io.ts";
 * import { HubError } from "../../client/mod.ts";
 * const line = describeError(new HubError(7, "unauthorized"));
 * if (line !== "hub error 7: unauthorized") throw new Error(line);
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof HubError) {
    return `hub error ${error.code}: ${error.message}`;
  }
  if (error instanceof ConnectError) return lowerFirst(error.message);
  if (error instanceof ConnectionClosedError) {
    const cause = error.cause;
    if (cause instanceof HubError) return describeError(cause);
    return lowerFirst(error.message);
  }
  if (error instanceof Error) return lowerFirst(error.message);
  return String(error);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
