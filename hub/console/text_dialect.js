// @ts-check
/**
 * The hub's text dialect as the console's "try it" panel speaks it over the
 * browser's WebSocket: what to send (`identity`, `list`, `relay IDS TEXT`,
 * `auth TOKEN`, one line each) and a parser for what comes back. No DOM here,
 * so the unit tests run it under Deno (tests/hub/console_text_dialect_test.ts).
 *
 * The hub's messages, joined, are the text dialect's byte stream: lines, and
 * `message SENDER LENGTH` blocks whose body is LENGTH bytes (newlines
 * included) and a final `\n`. A line or block may be split across WebSocket
 * messages; a block whose body is not UTF-8 comes alone in a binary message.
 * So the parser works on bytes, and takes text and binary messages alike.
 *
 * @example
 * ```ts
 * import { TextDialectParser } from "./text_dialect.js";
 * const parser = new TextDialectParser();
 * const [identity] = parser.push("identity 7\nmessage 3 5\nhel");
 * const [message] = parser.push("lo\n");
 * if (identity?.kind !== "identity" || identity.id !== 7) throw new Error();
 * if (message?.kind !== "message" || message.text !== "hello") throw new Error();
 * ```
 *
 * @module
 */

/**
 * One thing the hub said: a reply to a command, a delivered message, or an
 * `error` line (the reply to a refused command, or the last word before the
 * hub closes). `text` of a message is `null` when its body is not UTF-8.
 *
 * @typedef {{ kind: "identity", id: number }
 *   | { kind: "list", ids: number[] }
 *   | { kind: "relayed", delivered: number, unknown: number[] }
 *   | { kind: "auth" }
 *   | { kind: "error", message: string }
 *   | { kind: "message", sender: number, body: Uint8Array,
 *       text: string | null }
 *   | { kind: "other", line: string }} HubLine
 */

/** The most receivers one relay names (PROTOCOL.md). */
export const MAX_RECEIVERS = 255;

const NEWLINE = 0x0a;
const encoder = new TextEncoder();
const lineDecoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Splits the hub's byte stream into {@link HubLine}s. Feed it every message
 * the WebSocket receives, text or binary, in order; it keeps what does not
 * yet make a whole line or block.
 *
 * @example A body with newlines, in two messages
 * ```ts
 * import { TextDialectParser } from "./text_dialect.js";
 * const parser = new TextDialectParser();
 * if (parser.push("message 2 3\na\n").length !== 0) throw new Error("early");
 * const [block] = parser.push("b\n");
 * if (block?.kind !== "message" || block.text !== "a\nb") {
 *   throw new Error("not parsed");
 * }
 * ```
 */
export class TextDialectParser {
  /** Bytes received and not yet parsed. */
  #buffer = new Uint8Array(0);
  /** Where the search for the next `\n` resumes in #buffer. */
  #scanned = 0;

  /**
   * Takes one message's data; returns what it completed, in order.
   * @param {string | Uint8Array | ArrayBuffer} data
   * @returns {HubLine[]}
   */
  push(data) {
    const bytes = typeof data === "string"
      ? encoder.encode(data)
      : data instanceof Uint8Array
      ? data
      : new Uint8Array(data);
    this.#append(bytes);
    /** @type {HubLine[]} */
    const out = [];
    let start = 0;
    while (true) {
      const end = this.#buffer.indexOf(NEWLINE, Math.max(start, this.#scanned));
      if (end < 0) {
        this.#scanned = this.#buffer.length;
        break;
      }
      let line = lineDecoder.decode(this.#buffer.subarray(start, end));
      if (line.endsWith("\r")) line = line.slice(0, -1);
      const block = /^message (\d+) (\d+)$/i.exec(line);
      if (block !== null) {
        const length = Number(block[2]);
        const bodyEnd = end + 1 + length;
        // The body and its final newline have not all arrived: wait.
        if (this.#buffer.length <= bodyEnd) {
          this.#scanned = start;
          break;
        }
        const body = this.#buffer.slice(end + 1, bodyEnd);
        out.push({
          kind: "message",
          sender: Number(block[1]),
          body,
          text: utf8(body),
        });
        // The block ends with `\n`; be lenient if it does not.
        start = this.#buffer[bodyEnd] === NEWLINE ? bodyEnd + 1 : bodyEnd;
        this.#scanned = start;
        continue;
      }
      start = end + 1;
      this.#scanned = start;
      if (line !== "") out.push(parseLine(line));
    }
    if (start > 0) {
      this.#buffer = this.#buffer.slice(start);
      this.#scanned -= start;
    }
    return out;
  }

  /** Bytes held that do not yet make a whole line or block. */
  get pending() {
    return this.#buffer.length;
  }

  /** @param {Uint8Array} bytes */
  #append(bytes) {
    if (this.#buffer.length === 0) {
      this.#buffer = bytes.slice();
      return;
    }
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer, 0);
    joined.set(bytes, this.#buffer.length);
    this.#buffer = joined;
  }
}

/**
 * The text of a UTF-8 body, or `null` when it is not UTF-8.
 * @param {Uint8Array} body
 */
function utf8(body) {
  try {
    return strictDecoder.decode(body);
  } catch {
    return null;
  }
}

/**
 * One line the hub sent that is not a `message` header.
 *
 * @example
 * ```ts
 * import { parseLine } from "./text_dialect.js";
 * const relayed = parseLine("relayed 1 unknown 3,4");
 * if (relayed.kind !== "relayed" || relayed.unknown.length !== 2) {
 *   throw new Error("not parsed");
 * }
 * ```
 *
 * @param {string} line without its line end
 * @returns {HubLine}
 */
export function parseLine(line) {
  const space = line.indexOf(" ");
  const word = (space < 0 ? line : line.slice(0, space)).toLowerCase();
  const rest = space < 0 ? "" : line.slice(space + 1);
  switch (word) {
    case "identity": {
      if (/^\d+$/.test(rest)) return { kind: "identity", id: Number(rest) };
      break;
    }
    case "list": {
      if (rest === "") return { kind: "list", ids: [] };
      if (/^\d+(,\d+)*$/.test(rest)) {
        return { kind: "list", ids: rest.split(",").map(Number) };
      }
      break;
    }
    case "relayed": {
      const match = /^(\d+)(?: unknown (\d+(?:,\d+)*))?$/.exec(rest);
      if (match !== null) {
        return {
          kind: "relayed",
          delivered: Number(match[1]),
          unknown: match[2] === undefined
            ? []
            : match[2].split(",").map(Number),
        };
      }
      break;
    }
    case "auth": {
      if (rest.toLowerCase() === "ok") return { kind: "auth" };
      break;
    }
    case "error":
      return { kind: "error", message: rest };
  }
  return { kind: "other", line };
}

/**
 * The receiver ids of a typed list ("2, 3,5"), or why it is not one: ids are
 * whole numbers from 1, at most {@link MAX_RECEIVERS} of them; repeats count
 * once.
 *
 * @example
 * ```ts
 * import { parseIds } from "./text_dialect.js";
 * const ids = parseIds(" 3, 2,3 ");
 * if (typeof ids === "string" || ids.join() !== "3,2") throw new Error(ids.toString());
 * if (typeof parseIds("2,x") !== "string") throw new Error("accepted");
 * ```
 *
 * @param {string} typed
 * @returns {number[] | string} the ids, or an error message
 */
export function parseIds(typed) {
  const parts = typed.split(",").map((part) => part.trim()).filter((part) =>
    part !== ""
  );
  if (parts.length === 0) return "Choose at least one receiver";
  /** @type {number[]} */
  const ids = [];
  for (const part of parts) {
    const id = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isSafeInteger(id) || id < 1) {
      return `"${part}" is not a client id`;
    }
    if (!ids.includes(id)) ids.push(id);
  }
  if (ids.length > MAX_RECEIVERS) {
    return `At most ${MAX_RECEIVERS} receivers, not ${ids.length}`;
  }
  return ids;
}

/**
 * The `relay` line that sends `text` to `ids`. The text is one line: a line
 * end in it would end the command, so it is refused.
 *
 * @example
 * ```ts
 * import { relayLine } from "./text_dialect.js";
 * if (relayLine([2, 3], "hello") !== "relay 2,3 hello\n") throw new Error();
 * ```
 *
 * @param {readonly number[]} ids
 * @param {string} text
 */
export function relayLine(ids, text) {
  if (/[\r\n]/.test(text)) throw new Error("The text must be one line");
  if (text === "") throw new Error("The text is empty");
  return `relay ${ids.join(",")} ${text}\n`;
}

/**
 * How the panel shows a delivered body: its text, or its size when it is not
 * UTF-8.
 *
 * @example
 * ```ts
 * import { bodyText } from "./text_dialect.js";
 * const text = bodyText({ body: new Uint8Array([0xff, 0]), text: null });
 * if (text !== "2 bytes (binary)") throw new Error(text);
 * ```
 *
 * @param {{ body: Uint8Array, text: string | null }} message
 */
export function bodyText(message) {
  if (message.text !== null) return message.text;
  const n = message.body.length;
  return `${n} byte${n === 1 ? "" : "s"} (binary)`;
}

/**
 * The WebSocket URL for a listener that `/hubz` reports, as seen from a page
 * at `pageHost` (`location.hostname`): a listener on every address
 * (`0.0.0.0`, `[::]`) is reached at the page's host; one on a given address
 * at that address.
 *
 * @example
 * ```ts
 * import { socketUrl } from "./text_dialect.js";
 * const url = socketUrl({ address: "0.0.0.0:8081", tls: false }, "hub.lan");
 * if (url !== "ws://hub.lan:8081/") throw new Error(url);
 * ```
 *
 * @param {{ address: string, tls: boolean }} listener
 * @param {string} pageHost
 */
export function socketUrl(listener, pageHost) {
  const colon = listener.address.lastIndexOf(":");
  const host = listener.address.slice(0, colon);
  const port = listener.address.slice(colon + 1);
  const wildcard = host === "0.0.0.0" || host === "[::]" || host === "";
  let target = wildcard ? pageHost : host;
  if (target.includes(":") && !target.startsWith("[")) target = `[${target}]`;
  return `${listener.tls ? "wss" : "ws"}://${target}:${port}/`;
}
