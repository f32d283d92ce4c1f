/** Output and error wording shared by `msghub client` and its session. */
import {
  ConnectError,
  ConnectionClosedError,
  HubError,
  type Message,
} from "../../client/mod.ts";

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

/** `message from 1: ` followed by the body as text, or a note when binary. */
export function messageText(message: Message): string {
  let text: string;
  try {
    text = utf8.decode(message.body);
  } catch {
    text = `<${message.body.length} bytes, binary>`;
  }
  return `message from ${message.sender}: ${text}`;
}

/** One line about a failure, for `msghub: ...` on stderr: no stack trace. */
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
