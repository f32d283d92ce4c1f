import { MAX_BODY, MAX_ID, MAX_LINE, MAX_RECEIVERS } from "./constants.ts";
import { FrameTooLargeError } from "./errors.ts";

/** One request of the text dialect, or a non-fatal error to answer. */
export type TextCommand =
  | { type: "identity" }
  | { type: "list" }
  | { type: "help" }
  | { type: "quit" }
  | { type: "echo"; body: Uint8Array }
  | { type: "auth"; token: Uint8Array }
  | { type: "relay"; ids: bigint[]; body: Uint8Array }
  | { type: "error"; message: string };

/** Receives each command the text parser completes. Bodies are copies. */
export type TextHandler = (command: TextCommand) => void;

/** The one-line answer to `help`. */
export const TEXT_HELP =
  "commands: identity | list | echo TEXT | relay IDS TEXT | relay, then IDS and body lines ended by an empty line | auth TOKEN | help | quit";

const decoder = new TextDecoder();
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

const State = { Command: 0, RelayIds: 1, RelayBody: 2 } as const;
type State = typeof State[keyof typeof State];

/**
 * Incremental parser of the text dialect. It splits lines (a `\r` before the
 * `\n` is dropped), enforces {@linkcode MAX_LINE} before buffering past it,
 * and runs the multi-line relay form. A line too long throws
 * {@linkcode FrameTooLargeError}, which is fatal; every other error becomes an
 * `error` command and parsing goes on.
 *
 * @example Parse a multi-line relay
 * ```ts
 * import { TextParser, type TextCommand } from "./mod.ts";
 * const got: TextCommand[] = [];
 * const parser = new TextParser((command) => got.push(command));
 * parser.parse(new TextEncoder().encode("relay\n2,3\nfoo\nbar\n\n"));
 * const relay = got[0];
 * if (relay?.type !== "relay" || relay.ids.length !== 2) throw new Error("No relay");
 * ```
 */
export class TextParser {
  #onCommand: TextHandler;
  /** An unfinished line, grown by doubling so tiny reads stay linear. */
  #partial = new Uint8Array(0);
  #partialLength = 0;
  #state: State = State.Command;
  #ids: bigint[] = [];
  /** The multi-line relay's body so far, joined, in a buffer grown by doubling. */
  #body = new Uint8Array(0);
  #bodyLength = 0;
  #bodyStored = 0;
  #bodyLines = 0;
  #maxLine = MAX_LINE;

  /**
   * Creates a parser at the start of a line.
   *
   * @param onCommand called with each command the parser completes
   */
  constructor(onCommand: TextHandler) {
    this.#onCommand = onCommand;
  }

  /**
   * The longest line accepted, at most (and by default) {@linkcode MAX_LINE}.
   * A hub lowers it until a client has authenticated: `auth TOKEN` is short.
   */
  get maxLine(): number {
    return this.#maxLine;
  }

  set maxLine(value: number) {
    this.#maxLine = Math.min(value, MAX_LINE);
  }

  /** Bytes of an unfinished line or relay held between chunks. */
  get buffered(): number {
    return this.#partialLength + this.#bodyStored;
  }

  /**
   * What the next line is: a command, the ids line of a multi-line relay,
   * or a line of its body. A terminal session prompts for each differently.
   */
  get expecting(): "command" | "relay-ids" | "relay-body" {
    if (this.#state === State.RelayIds) return "relay-ids";
    if (this.#state === State.RelayBody) return "relay-body";
    return "command";
  }

  /** Parses one chunk, calling the handler for every command it completes. */
  parse(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf < 0) {
        const rest = chunk.length - start;
        // One byte of slack for a `\r` that may precede the coming `\n`.
        if (this.#partialLength + rest > this.#maxLine + 1) throw lineTooLong();
        this.#append(chunk.subarray(start));
        return;
      }
      let line = chunk.subarray(start, lf);
      start = lf + 1;
      if (this.#partialLength > 0) {
        if (this.#partialLength + line.length > this.#maxLine + 1) {
          throw lineTooLong();
        }
        this.#append(line);
        line = this.#partial.subarray(0, this.#partialLength);
        this.#partial = new Uint8Array(0);
        this.#partialLength = 0;
      }
      if (line.length > 0 && line[line.length - 1] === CR) {
        line = line.subarray(0, line.length - 1);
      }
      if (line.length > this.#maxLine) throw lineTooLong();
      this.#line(line);
    }
  }

  #append(bytes: Uint8Array): void {
    const length = this.#partialLength + bytes.length;
    if (length > this.#partial.length) {
      const grown = new Uint8Array(
        Math.min(Math.max(length, this.#partial.length * 2, 256), MAX_LINE + 2),
      );
      grown.set(this.#partial.subarray(0, this.#partialLength));
      this.#partial = grown;
    }
    this.#partial.set(bytes, this.#partialLength);
    this.#partialLength = length;
  }

  #line(line: Uint8Array): void {
    switch (this.#state) {
      case State.Command:
        return this.#command(line);
      case State.RelayIds: {
        const ids = parseIds(line);
        if (typeof ids === "string") {
          this.#state = State.Command;
          return this.#onCommand({ type: "error", message: ids });
        }
        this.#ids = ids;
        this.#state = State.RelayBody;
        return;
      }
      case State.RelayBody: {
        if (line.length === 0) return this.#endRelay();
        // Joined with `\n`: every line but the first adds a separator.
        const separator = this.#bodyLines > 0 ? 1 : 0;
        this.#bodyLines++;
        const length = this.#bodyLength + separator + line.length;
        if (length <= MAX_BODY) {
          if (length > this.#body.length) {
            const grown = new Uint8Array(
              Math.min(Math.max(length, this.#body.length * 2, 256), MAX_BODY),
            );
            grown.set(this.#body.subarray(0, this.#bodyStored));
            this.#body = grown;
          }
          if (separator === 1) this.#body[this.#bodyStored++] = LF;
          this.#body.set(line, this.#bodyStored);
          this.#bodyStored += line.length;
        }
        // Past the limit the bytes are only counted, for the error line.
        this.#bodyLength = length;
        return;
      }
    }
  }

  #endRelay(): void {
    const ids = this.#ids;
    const length = this.#bodyLength;
    const body = this.#body.slice(0, this.#bodyStored);
    this.#state = State.Command;
    this.#ids = [];
    this.#body = new Uint8Array(0);
    this.#bodyLength = 0;
    this.#bodyStored = 0;
    this.#bodyLines = 0;
    if (length > MAX_BODY) {
      return this.#onCommand({ type: "error", message: bodyTooLarge(length) });
    }
    this.#onCommand({ type: "relay", ids, body });
  }

  #command(line: Uint8Array): void {
    if (line.length === 0) return;
    const space = wordEnd(line);
    const word = decoder.decode(line.subarray(0, space)).toLowerCase();
    const rest = line.subarray(Math.min(space + 1, line.length));
    const bare = isBlank(rest);
    switch (word) {
      case "identity":
      case "list":
      case "help":
      case "quit":
        return this.#onCommand(
          bare ? { type: word } : {
            type: "error",
            message: `usage: ${word} takes no arguments`,
          },
        );
      case "echo":
        // A body is at most MAX_BODY in both dialects; a line may be longer.
        if (rest.length > MAX_BODY) {
          return this.#onCommand({
            type: "error",
            message: bodyTooLarge(rest.length),
          });
        }
        return this.#onCommand({ type: "echo", body: rest.slice() });
      case "auth":
        return this.#onCommand(
          bare ? { type: "error", message: "usage: auth TOKEN" } : {
            type: "auth",
            token: rest.slice(),
          },
        );
      case "relay":
        return bare ? this.#beginRelay() : this.#relayLine(rest);
      default:
        return this.#onCommand({
          type: "error",
          message: `unknown command: "${truncate(word)}" (try help)`,
        });
    }
  }

  #beginRelay(): void {
    this.#state = State.RelayIds;
  }

  #relayLine(rest: Uint8Array): void {
    const space = wordEnd(rest);
    const ids = parseIds(rest.subarray(0, space));
    if (typeof ids === "string") {
      return this.#onCommand({ type: "error", message: ids });
    }
    const body = rest.subarray(Math.min(space + 1, rest.length));
    if (body.length > MAX_BODY) {
      return this.#onCommand({
        type: "error",
        message: bodyTooLarge(body.length),
      });
    }
    this.#onCommand({ type: "relay", ids, body: body.slice() });
  }
}

/**
 * Parses `2,3,17`: 1 to 255 decimal u64 ids separated by commas. Returns the
 * ids, or the message of the error to answer.
 */
export function parseIds(field: Uint8Array): bigint[] | string {
  const text = decoder.decode(field);
  const parts = text.split(",");
  if (parts.length > MAX_RECEIVERS) {
    return `bad ids: ${parts.length} receivers exceeds ${MAX_RECEIVERS}`;
  }
  const ids: bigint[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,20}$/.test(part)) {
      return `bad ids: "${
        truncate(text)
      }" is not a comma-separated list of ids`;
    }
    const id = BigInt(part);
    if (id > MAX_ID) return `bad ids: "${part}" exceeds ${MAX_ID}`;
    ids.push(id);
  }
  return ids;
}

/** Where the first word ends: at a space or tab, or the end. */
function wordEnd(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === SPACE || bytes[i] === TAB) return i;
  }
  return bytes.length;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== SPACE && byte !== TAB) return false;
  return true;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function lineTooLong(): FrameTooLargeError {
  return new FrameTooLargeError("line too long");
}

function bodyTooLarge(length: number): string {
  return `body too large: ${length} bytes exceeds ${MAX_BODY}`;
}

/** `relayed 2`, or `relayed 1 unknown 3,4`. */
export function formatRelayed(
  delivered: number,
  unknown: readonly (bigint | number)[],
): string {
  return unknown.length === 0
    ? `relayed ${delivered}`
    : `relayed ${delivered} unknown ${unknown.join(",")}`;
}

/** `list 2,3`, or `list` alone. */
export function formatList(ids: ArrayLike<bigint | number>): string {
  return ids.length === 0 ? "list" : `list ${Array.from(ids).join(",")}`;
}
