/**
 * A generator connection over WebSocket, with our own RFC 6455 codec from
 * `protocol/`: the upgrade request, masked binary messages for writes and a
 * client-role frame parser for reads. The stream of a connection is the
 * payload of its binary messages joined, as the hub's binary dialect and
 * nats-server's WebSocket listener both define it, so the drivers' walkers
 * and batches work unchanged.
 *
 * Kept cheap for a load generator: a write masks its bytes into one
 * reusable buffer (grown to the largest write, never per message), and reads
 * go through {@linkcode WsStreamReader}, which joins the payloads of plain
 * frames in the read buffer itself and leaves the rest to `WsFrameParser`.
 *
 * @module
 */
import {
  encodeWsClose,
  encodeWsPong,
  encodeWsUpgradeRequest,
  MAX_WS_MESSAGE,
  writeWsHeader,
  wsAcceptKey,
  WsCloseCode,
  wsHeaderSize,
  wsNewKey,
  WsOpcode,
} from "../protocol/mod.ts";
import { SerialWriter, type Wire, writeAll } from "./wire.ts";
export type { Wire };
import { WsStreamReader } from "./ws_reader.ts";

/** Most bytes of an upgrade response head we read before giving up. */
const MAX_RESPONSE_HEAD = 8192;
/** Bytes of stream per WebSocket message: what the hub accepts in one. */
export const WS_MESSAGE_BYTES: number = MAX_WS_MESSAGE;

const decoder = new TextDecoder();
const CRLFCRLF = [0x0d, 0x0a, 0x0d, 0x0a];

/** Where the blank line after a response head ends in `bytes`, or -1. */
function headEnd(bytes: Uint8Array, length: number): number {
  outer: for (let i = 0; i + 4 <= length; i++) {
    for (let k = 0; k < 4; k++) {
      if (bytes[i + k] !== CRLFCRLF[k]) continue outer;
    }
    return i + 4;
  }
  return -1;
}

/**
 * Checks the head of an upgrade response: status 101 and the accept key
 * that answers `key`. Throws with what the server said otherwise.
 *
 * @example
 * ```ts
 * import { checkUpgradeResponse } from "./ws_wire.ts";
 * checkUpgradeResponse(
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
 *     "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
 *   "dGhlIHNhbXBsZSBub25jZQ==",
 * );
 * ```
 */
export function checkUpgradeResponse(head: string, key: string): void {
  const lines = head.split("\r\n");
  const status = /^HTTP\/1\.1 ([0-9]{3})\b/.exec(lines[0] ?? "");
  if (status === null || status[1] !== "101") {
    throw new Error(
      `Cannot open WebSocket: the server answered "${
        (lines[0] ?? "").slice(0, 80)
      }"`,
    );
  }
  const expected = wsAcceptKey(key);
  let accept: string | null = null;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    if (line.slice(0, colon).trim().toLowerCase() === "sec-websocket-accept") {
      accept = line.slice(colon + 1).trim();
    }
  }
  if (accept !== expected) {
    throw new Error(
      `Cannot open WebSocket: Sec-WebSocket-Accept is "${accept}", expected "${expected}"`,
    );
  }
}

const maskKeyBytes = new Uint8Array(4);
const maskKeyWord = new Uint32Array(maskKeyBytes.buffer);

/**
 * Copies `src` into `dst` at `at`, XORed with the 4-byte `key` (phase 0):
 * a word at a time when both sides are 4-byte aligned, which the writer
 * arranges. One pass: no copy then mask.
 *
 * @example Masking twice restores the bytes
 * ```ts
 * import { copyMasked } from "./ws_wire.ts";
 * const key = new Uint8Array([1, 2, 3, 4]);
 * const src = new Uint8Array(100).map((_, i) => i);
 * const once = new Uint8Array(100);
 * copyMasked(src, once, 0, key);
 * const twice = new Uint8Array(100);
 * copyMasked(once, twice, 0, key);
 * if (once[1] !== (1 ^ 2) || twice.join() !== src.join()) throw new Error("Wrong mask");
 * ```
 */
export function copyMasked(
  src: Uint8Array,
  dst: Uint8Array,
  at: number,
  key: Uint8Array,
): void {
  const length = src.length;
  let i = 0;
  const srcBase = src.byteOffset;
  const dstBase = dst.byteOffset + at;
  if (length >= 64 && (srcBase & 3) === 0 && (dstBase & 3) === 0) {
    maskKeyBytes.set(key);
    const mask = maskKeyWord[0]!;
    const words = length >>> 2;
    const from = new Uint32Array(src.buffer, srcBase, words);
    const to = new Uint32Array(dst.buffer, dstBase, words);
    for (let j = 0; j < words; j++) to[j] = from[j]! ^ mask;
    i = words * 4;
  }
  for (; i < length; i++) dst[at + i] = src[i]! ^ key[i & 3]!;
}

/** A WebSocket connection as a wire; see {@linkcode dialWs}. */
class WsWire implements Wire {
  readonly transport = "ws" as const;
  #conn: Deno.TcpConn;
  #reader: WsStreamReader;
  #writer: SerialWriter;
  /** Bytes that came with the upgrade response: frames, read first. */
  #pending: Uint8Array | null;
  #sink: ((bytes: Uint8Array) => void) | null = null;
  #closed = false;
  /** Where writes are framed and masked; grown to the largest write. */
  #out = new Uint8Array(0);
  #key = new Uint8Array(4);

  constructor(conn: Deno.TcpConn, pending: Uint8Array | null) {
    this.#conn = conn;
    this.#pending = pending;
    this.#writer = new SerialWriter();
    this.#reader = new WsStreamReader({
      onData: (bytes) => this.#sink?.(bytes),
      onPing: (payload) => {
        // The view dies with the call: the pong is encoded now.
        this.#writeRaw(encodeWsPong(payload, { mask: this.#newKey() }));
      },
      onClose: () => {
        this.#writeRaw(encodeWsClose(WsCloseCode.Normal, "", {
          mask: this.#newKey(),
        }));
      },
    });
  }

  read(buf: Uint8Array): Promise<number | null> {
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      buf.set(pending);
      return Promise.resolve(pending.length);
    }
    return this.#conn.read(buf);
  }

  unwrap(chunk: Uint8Array, sink: (bytes: Uint8Array) => void): boolean {
    if (this.#reader.closed) return false;
    this.#sink = sink;
    try {
      this.#reader.feed(chunk);
    } finally {
      this.#sink = null;
    }
    return !this.#reader.closed;
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#writer.run(() => this.#send(bytes));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  #newKey(): Uint8Array {
    return crypto.getRandomValues(new Uint8Array(4));
  }

  /** A whole control frame, queued between data messages. */
  #writeRaw(frame: Uint8Array): void {
    this.#writer.run(() => writeAll(this.#conn, frame)).catch(() => {});
  }

  /**
   * Writes `bytes` as binary messages of at most {@linkcode WS_MESSAGE_BYTES}
   * each, framed and masked in the reusable buffer.
   */
  async #send(bytes: Uint8Array): Promise<void> {
    for (let offset = 0; offset < bytes.length;) {
      const length = Math.min(WS_MESSAGE_BYTES, bytes.length - offset);
      const header = wsHeaderSize(length, true);
      // The payload starts 4-byte aligned, so masking goes a word at a time.
      const pad = (4 - (header & 3)) & 3;
      const size = pad + header + length;
      if (this.#out.length < size) this.#out = new Uint8Array(size);
      const out = this.#out;
      crypto.getRandomValues(this.#key);
      writeWsHeader(out, pad, WsOpcode.Binary, length, { mask: this.#key });
      copyMasked(
        bytes.subarray(offset, offset + length),
        out,
        pad + header,
        this.#key,
      );
      await writeAll(this.#conn, out.subarray(pad, size));
      offset += length;
    }
  }
}

/**
 * Upgrades an open TCP connection to a WebSocket (path `/`, `Host: host`)
 * and resolves to it as a wire. Throws, closing `conn`, when the server
 * refuses, answers with the wrong accept key, or does not answer within
 * `ms`.
 */
export async function dialWs(
  conn: Deno.TcpConn,
  host: string,
  ms = 10_000,
): Promise<Wire> {
  const key = wsNewKey();
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, ms);
  try {
    await writeAll(conn, encodeWsUpgradeRequest({ host, key }));
    const buf = new Uint8Array(MAX_RESPONSE_HEAD);
    let fill = 0;
    let end = -1;
    while (end < 0) {
      if (fill === buf.length) {
        throw new Error(
          `Cannot open WebSocket: no end of the response head in ${MAX_RESPONSE_HEAD} bytes`,
        );
      }
      const n = await conn.read(buf.subarray(fill));
      if (n === null) {
        throw new Error(
          "Cannot open WebSocket: the server closed the connection during the upgrade",
        );
      }
      fill += n;
      end = headEnd(buf, fill);
    }
    checkUpgradeResponse(decoder.decode(buf.subarray(0, end - 4)), key);
    const rest = fill > end ? buf.slice(end, fill) : null;
    return new WsWire(conn, rest);
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    if (late) {
      throw new Error(
        `Cannot open WebSocket: no upgrade answer within ${ms} ms`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
