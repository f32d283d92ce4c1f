/**
 * The server side of the WebSocket opening handshake (RFC 6455 section 4.2):
 * an incremental parser of the upgrade request's head, with a size cap, and
 * the bytes of the answers, `101 Switching Protocols` or a refusal.
 *
 * @module
 */
import { sha1 } from "./sha1.ts";
import { MAX_WS_HEAD } from "./ws_constants.ts";

/** The GUID RFC 6455 appends to a client's key to make the accept key. */
export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** HTTP statuses of the refusals an upgrade request may get. */
export const WsHttpStatus = {
  BadRequest: 400,
  Forbidden: 403,
  MethodNotAllowed: 405,
  UpgradeRequired: 426,
  HeadTooLarge: 431,
  Unavailable: 503,
} as const;

/** An HTTP status of a refusal. */
export type WsHttpStatus = typeof WsHttpStatus[keyof typeof WsHttpStatus];

const REASONS: Record<WsHttpStatus, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/** Headers a refusal carries besides the usual ones. */
const EXTRA: Partial<Record<WsHttpStatus, string>> = {
  405: "Allow: GET\r\n",
  426: "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
};

/** A valid upgrade request. */
export interface WsUpgradeRequest {
  /** The request target as sent, query included: `/`, `/chat?room=1`. */
  path: string;
  /** The `Host` header. */
  host: string;
  /** The `Origin` header, or `null` when there was none (not a browser). */
  origin: string | null;
  /** The `Sec-WebSocket-Key` header, checked to be base64 of 16 bytes. */
  key: string;
  /** Subprotocols offered in `Sec-WebSocket-Protocol`; none is chosen. */
  protocols: string[];
  /**
   * Every header, by lower-case name; a repeated header's values are joined
   * with `, `.
   */
  headers: Map<string, string>;
}

/** What a complete head comes to: an upgrade, or a refusal to send. */
export type WsHandshakeResult =
  | {
    ok: true;
    request: WsUpgradeRequest;
    /**
     * Bytes after the head in the chunk that completed it (a view of that
     * chunk, often empty): the start of the frame stream.
     */
    rest: Uint8Array;
  }
  | {
    ok: false;
    status: WsHttpStatus;
    /** Why, as a sentence: also the refusal's body. */
    message: string;
    /** The whole HTTP response to write before closing. */
    response: Uint8Array;
  };

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
const KEY = /^[A-Za-z0-9+/]{22}==$/;
const encoder = new TextEncoder();

/**
 * Incremental parser of an upgrade request's head. Feed it the first bytes
 * of a connection; it answers `null` until the head is complete (an empty
 * line), then a {@linkcode WsHandshakeResult}. A head longer than `maxHead`
 * bytes is refused with 431 as soon as the limit is passed, and a control
 * byte (a binary client on the wrong port) with 400 at once, so what it
 * holds is bounded by `maxHead`.
 *
 * @example Accept an upgrade
 * ```ts
 * import { WsHandshakeParser } from "./mod.ts";
 * const head = "GET /chat HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\n" +
 *   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
 *   "Sec-WebSocket-Version: 13\r\n\r\n";
 * const result = new WsHandshakeParser().parse(new TextEncoder().encode(head));
 * if (result === null || !result.ok || result.request.path !== "/chat") throw new Error("Refused");
 * ```
 */
export class WsHandshakeParser {
  #maxHead: number;
  #buffer = new Uint8Array(0);
  #fill = 0;
  /** Where the line being scanned starts. */
  #lineStart = 0;
  #done = false;

  /**
   * Creates a parser for one connection.
   *
   * @param options the largest head accepted, by default
   * {@linkcode MAX_WS_HEAD}
   */
  constructor(options: { maxHead?: number } = {}) {
    this.#maxHead = options.maxHead ?? MAX_WS_HEAD;
  }

  /** Bytes of an unfinished head held between chunks. */
  get buffered(): number {
    return this.#fill;
  }

  /**
   * Parses the next chunk: `null` while the head is incomplete, then the
   * result. The parser must not be fed after it gave a result.
   */
  parse(chunk: Uint8Array): WsHandshakeResult | null {
    if (this.#done) {
      throw new Error("Cannot parse upgrade request: it is already complete");
    }
    const held = this.#fill;
    const limit = Math.min(chunk.length, this.#maxHead - held);
    for (let j = 0; j < limit; j++) {
      const b = chunk[j]!;
      if (b === LF) {
        const at = held + j;
        const lineLength = at - this.#lineStart;
        if (
          lineLength === 0 ||
          (lineLength === 1 && this.#byteAt(this.#lineStart, chunk) === CR)
        ) {
          this.#done = true;
          const head = held === 0
            ? chunk.subarray(0, j + 1)
            : this.#append(chunk.subarray(0, j + 1));
          this.#buffer = new Uint8Array(0);
          this.#fill = 0;
          return parseHead(head, chunk.subarray(j + 1));
        }
        this.#lineStart = at + 1;
      } else if ((b < 0x20 && b !== TAB && b !== CR) || b === 0x7f) {
        return this.#refuse(
          WsHttpStatus.BadRequest,
          `Cannot parse upgrade request: control byte 0x${
            b.toString(16).padStart(2, "0")
          } at offset ${held + j}`,
        );
      }
    }
    if (chunk.length > limit) {
      return this.#refuse(
        WsHttpStatus.HeadTooLarge,
        `Cannot parse upgrade request: the head exceeds ${this.#maxHead} bytes`,
      );
    }
    this.#append(chunk);
    return null;
  }

  /** The byte at stream offset `at`, held or in the current chunk. */
  #byteAt(at: number, chunk: Uint8Array): number {
    return at < this.#fill ? this.#buffer[at]! : chunk[at - this.#fill]!;
  }

  /** Appends to the held bytes, growing by doubling; returns them all. */
  #append(bytes: Uint8Array): Uint8Array {
    const need = this.#fill + bytes.length;
    if (need > this.#buffer.length) {
      let size = Math.max(this.#buffer.length * 2, 1024);
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.#maxHead));
      grown.set(this.#buffer.subarray(0, this.#fill));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#fill);
    this.#fill = need;
    return this.#buffer.subarray(0, need);
  }

  #refuse(status: WsHttpStatus, message: string): WsHandshakeResult {
    this.#done = true;
    this.#buffer = new Uint8Array(0);
    this.#fill = 0;
    return refusal(status, message);
  }
}

function refusal(status: WsHttpStatus, message: string): WsHandshakeResult {
  return {
    ok: false,
    status,
    message,
    response: encodeWsRefusal(status, message),
  };
}

function bad(message: string): WsHandshakeResult {
  return refusal(
    WsHttpStatus.BadRequest,
    `Cannot upgrade to WebSocket: ${message}`,
  );
}

/** Checks a complete head, which ends with its empty line. */
function parseHead(head: Uint8Array, rest: Uint8Array): WsHandshakeResult {
  let text = "";
  for (let i = 0; i < head.length; i += 4096) {
    text += String.fromCharCode(...head.subarray(i, i + 4096));
  }
  const lines = text.split("\n");
  // The last two are the empty line and what follows its line feed.
  lines.length -= 2;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const cr = line.indexOf("\r");
    if (cr >= 0 && cr !== line.length - 1) {
      return bad(`a bare carriage return in line ${i + 1}`);
    }
    if (cr >= 0) lines[i] = line.slice(0, -1);
  }
  const match = REQUEST_LINE.exec(lines[0] ?? "");
  if (match === null || !TOKEN.test(match[1]!)) {
    return bad(`request line "${lines[0] ?? ""}" is not HTTP/1.x`);
  }
  const [, method, path, major, minor] = match;
  if (method !== "GET") {
    return refusal(
      WsHttpStatus.MethodNotAllowed,
      `Cannot upgrade to WebSocket: method "${method}" is not GET`,
    );
  }
  if (major !== "1" || minor === "0") {
    return bad(`HTTP version "${major}.${minor}" is not 1.1`);
  }
  const headers = new Map<string, string>();
  let keys = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) {
      return bad(`header line "${line}" is not name: value`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    const lower = name.toLowerCase();
    if (lower === "sec-websocket-key") keys++;
    const seen = headers.get(lower);
    headers.set(lower, seen === undefined ? value : `${seen}, ${value}`);
  }
  const host = headers.get("host");
  if (host === undefined || host === "") return bad("no Host header");
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    return bad(`Upgrade "${headers.get("upgrade") ?? ""}" is not websocket`);
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    return bad(
      `Connection "${headers.get("connection") ?? ""}" has no upgrade token`,
    );
  }
  const version = headers.get("sec-websocket-version");
  if (version !== "13") {
    return refusal(
      WsHttpStatus.UpgradeRequired,
      `Cannot upgrade to WebSocket: Sec-WebSocket-Version "${
        version ?? ""
      }" is not 13`,
    );
  }
  const key = headers.get("sec-websocket-key") ?? "";
  if (keys !== 1 || !KEY.test(key)) {
    return bad(`Sec-WebSocket-Key "${key}" is not base64 of 16 bytes`);
  }
  const offered = headers.get("sec-websocket-protocol");
  const protocols = offered === undefined
    ? []
    : offered.split(",").map((p) => p.trim()).filter((p) => p !== "");
  return {
    ok: true,
    request: {
      path: path!,
      host,
      origin: headers.get("origin") ?? null,
      key,
      protocols,
      headers,
    },
    rest,
  };
}

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  return value.split(",").some((t) => t.trim().toLowerCase() === token);
}

/**
 * The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
 *
 * @example The example of RFC 6455 section 1.3
 * ```ts
 * import { wsAcceptKey } from "./mod.ts";
 * const accept = wsAcceptKey("dGhlIHNhbXBsZSBub25jZQ==");
 * if (accept !== "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") throw new Error(`Wrong key ${accept}`);
 * ```
 */
export function wsAcceptKey(key: string): string {
  const digest = sha1(encoder.encode(key + WS_GUID));
  return btoa(String.fromCharCode(...digest));
}

/**
 * The `101 Switching Protocols` answer to an upgrade with `key`.
 *
 * @example
 * ```ts
 * import { encodeWsAccept } from "./mod.ts";
 * const text = new TextDecoder().decode(encodeWsAccept("dGhlIHNhbXBsZSBub25jZQ=="));
 * if (!text.startsWith("HTTP/1.1 101 ") || !text.includes("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function encodeWsAccept(key: string): Uint8Array {
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Accept: ${
        wsAcceptKey(key)
      }\r\n\r\n`,
  );
}

/**
 * A refusal: the status line, `Connection: close`, the headers the status
 * calls for (`Sec-WebSocket-Version: 13` with 426, `Allow: GET` with 405)
 * and `message` as a plain-text body.
 *
 * @example The answer of a hub at its client limit
 * ```ts
 * import { encodeWsRefusal, WsHttpStatus } from "./mod.ts";
 * const text = new TextDecoder().decode(encodeWsRefusal(WsHttpStatus.Unavailable, "Too many clients"));
 * if (!text.startsWith("HTTP/1.1 503 Service Unavailable\r\n") || !text.endsWith("\r\n\r\nToo many clients\n")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function encodeWsRefusal(
  status: WsHttpStatus,
  message: string = REASONS[status],
): Uint8Array {
  const body = encoder.encode(`${message}\n`);
  const head = encoder.encode(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${body.length}\r\nConnection: close\r\n` +
      `${EXTRA[status] ?? ""}\r\n`,
  );
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** What {@linkcode encodeWsUpgradeRequest} puts in a request. */
export interface WsUpgradeRequestOptions {
  /** The `Host` header: `host:port`. */
  host: string;
  /** The request target, `/` by default. */
  path?: string;
  /** `Sec-WebSocket-Key`; by default {@linkcode wsNewKey}. */
  key?: string;
  /** An `Origin` header, as a browser sends; none by default. */
  origin?: string;
}

/**
 * A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes.
 *
 * @example
 * ```ts
 * import { wsNewKey } from "./mod.ts";
 * if (!/^[A-Za-z0-9+/]{22}==$/.test(wsNewKey())) throw new Error("Not 16 bytes of base64");
 * ```
 */
export function wsNewKey(): string {
  return btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
}

/**
 * The head of a client's upgrade request, for a client that opens its own
 * socket (tests, tools); a runtime's `WebSocket` writes its own.
 *
 * @example Our own parser accepts it
 * ```ts
 * import { encodeWsUpgradeRequest, WsHandshakeParser } from "./mod.ts";
 * const head = encodeWsUpgradeRequest({ host: "127.0.0.1:4000", path: "/hub" });
 * const result = new WsHandshakeParser().parse(head);
 * if (result === null || !result.ok || result.request.path !== "/hub") throw new Error("Refused");
 * ```
 */
export function encodeWsUpgradeRequest(
  options: WsUpgradeRequestOptions,
): Uint8Array {
  const { host, path = "/", key = wsNewKey(), origin } = options;
  return encoder.encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      "Sec-WebSocket-Version: 13\r\n" +
      (origin === undefined ? "" : `Origin: ${origin}\r\n`) + "\r\n",
  );
}
