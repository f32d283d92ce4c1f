/**
 * The receiving side of the NATS driver: a parser of what nats-server sends
 * (INFO, MSG, PING, PONG, +OK, -ERR) that counts MSG payloads without
 * allocating per message. Lines are found by scanning the chunk; payloads
 * are skipped, only their stamp bytes are read. Pure code.
 *
 * @module
 */
import { elapsedSinceWrapped, readStamp, stampRange } from "./stamp.ts";
import type { LatencyHistogram } from "./stats.ts";

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
/** Longest control line kept across chunks; INFO is the long one. */
const MAX_LINE = 64 * 1024;

/**
 * The payload size of a `MSG subject sid [reply-to] size` (or
 * `HMSG subject sid [reply-to] header-size total-size`) line held in
 * `source[start..end)`, without its line end; -1 when it is not one. Fields
 * are separated by single spaces, as nats-server writes them. The size is
 * read backwards from the end, so the line is walked once, counting spaces.
 *
 * @example
 * ```ts
 * import { msgPayloadSize } from "./nats_walker.ts";
 * const line = new TextEncoder().encode("MSG bench.0 1 1900");
 * if (msgPayloadSize(line, 0, line.length) !== 1900) throw new Error("Expected 1900");
 * ```
 */
export function msgPayloadSize(
  source: Uint8Array,
  start: number,
  end: number,
): number {
  let head: number;
  if (
    source[start] === 0x4d && source[start + 1] === 0x53 &&
    source[start + 2] === 0x47 && source[start + 3] === SPACE
  ) {
    head = 3; // "MSG"
  } else if (
    source[start] === 0x48 && source[start + 1] === 0x4d &&
    source[start + 2] === 0x53 && source[start + 3] === 0x47 &&
    source[start + 4] === SPACE
  ) {
    head = 4; // "HMSG": one more field, the header size
  } else {
    return -1;
  }
  let k = end;
  let value = 0;
  let scale = 1;
  while (k > start + head) {
    const digit = source[k - 1]! - 0x30;
    if (digit < 0 || digit > 9) break;
    value += digit * scale;
    scale *= 10;
    k--;
  }
  if (k === end || end - k > 15 || source[k - 1] !== SPACE) return -1;
  // Fields before the size: subject, sid, maybe reply-to (and header size).
  let spaces = 0;
  let previous = SPACE;
  for (let j = start + head; j < k; j++) {
    const byte = source[j]!;
    if (byte === SPACE) {
      if (previous === SPACE && j > start + head) return -1;
      spaces++;
    }
    previous = byte;
  }
  const min = head; // MSG: 3 fields; HMSG: 4
  return spaces === min || spaces === min + 1 ? value : -1;
}

function startsWith(
  source: Uint8Array,
  start: number,
  end: number,
  word: string,
): boolean {
  if (end - start < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    // Operations are case-insensitive: a lower-case letter matches too.
    const byte = source[start + i]!;
    const upper = byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte;
    if (upper !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Counts what a NATS connection gets. Feed it every chunk read with the time
 * it was read; it counts MSG payloads and their bytes, records the latency
 * of stamped ones, and notes INFO, PING (answer PONG), PONG and -ERR.
 *
 * @example Count one MSG split across chunks
 * ```ts
 * import { NatsWalker } from "./nats_walker.ts";
 * import { LatencyHistogram } from "./stats.ts";
 * const walker = new NatsWalker(new LatencyHistogram(), 0);
 * const bytes = new TextEncoder().encode("PING\r\nMSG s 1 3\r\nabc\r\n");
 * walker.feed(bytes.subarray(0, 9), 0);
 * walker.feed(bytes.subarray(9), 0);
 * if (walker.delivered !== 1 || walker.pings !== 1) throw new Error("Miscounted");
 * ```
 */
export class NatsWalker {
  /** MSG payloads counted. */
  delivered = 0;
  /** Bytes of the MSG payloads counted. */
  bodyBytes = 0;
  /** PINGs received and not yet answered; the driver answers and resets it. */
  pings = 0;
  /** PONGs received: answers to the driver's PINGs. */
  pongs = 0;
  /** INFO lines received. */
  infos = 0;
  /** The first -ERR line, or a parse failure: the connection is unusable. */
  error: { code: number; message: string } | null = null;
  #histogram: LatencyHistogram;
  #stampLength: number;
  #range: number;
  /** Payload bytes (and its CRLF) still to skip. */
  #skip = 0;
  /** Stamp bytes wanted from a payload split across chunks; 0 when none. */
  #stampWant = 0;
  #stamp = new Uint8Array(8);
  #stampFill = 0;
  #stampNow = 0;
  #line = new Uint8Array(256);
  #lineFill = 0;
  #decoder = new TextDecoder();

  /**
   * Makes a walker for one connection's reads.
   *
   * @param histogram where latencies are recorded.
   * @param stampLength stamp bytes at the start of each payload; 0 for none.
   */
  constructor(histogram: LatencyHistogram, stampLength: number) {
    this.#histogram = histogram;
    this.#stampLength = stampLength;
    this.#range = stampRange(stampLength);
  }

  /** Walks one chunk; `nowUs` is when it was read, on the stamps' clock. */
  feed(chunk: Uint8Array, nowUs: number): void {
    const now = nowUs % this.#range;
    let i = 0;
    const end = chunk.length;
    while (i < end && this.error === null) {
      if (this.#stampWant > 0) {
        const take = Math.min(this.#stampWant - this.#stampFill, end - i);
        this.#stamp.set(chunk.subarray(i, i + take), this.#stampFill);
        this.#stampFill += take;
        this.#skip -= take;
        i += take;
        if (this.#stampFill === this.#stampWant) {
          this.#record(this.#stamp, 0, this.#stampNow);
          this.#stampWant = 0;
        }
        continue;
      }
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, end - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      // A plain loop: `indexOf` costs a runtime call, too much per short line.
      let lf = i;
      while (lf < end && chunk[lf] !== LF) lf++;
      if (lf === end) {
        this.#keep(chunk.subarray(i));
        return;
      }
      let size: number;
      if (this.#lineFill > 0) {
        this.#keep(chunk.subarray(i, lf));
        size = this.#control(this.#line, 0, this.#lineFill);
        this.#lineFill = 0;
      } else {
        size = this.#control(chunk, i, lf);
      }
      i = lf + 1;
      if (size < 0) continue;
      this.delivered++;
      this.bodyBytes += size;
      this.#skip = size + 2;
      const length = this.#stampLength;
      if (length === 0 || size < length) continue;
      if (end - i >= length) {
        this.#record(chunk, i, now);
      } else {
        // Stamped with the time the payload's first byte was read.
        this.#stampWant = length;
        this.#stampFill = 0;
        this.#stampNow = now;
      }
    }
  }

  /** Records the stamp at `at`; `now` is wrapped. */
  #record(source: Uint8Array, at: number, now: number): void {
    const length = this.#stampLength;
    const stamp = readStamp(source, at, length);
    this.#histogram.record(elapsedSinceWrapped(stamp, this.#range, now));
  }

  /** Keeps part of a line that continues in the next chunk. */
  #keep(part: Uint8Array): void {
    const needed = this.#lineFill + part.length;
    if (needed > MAX_LINE) {
      this.error = { code: 0, message: "line from server too long" };
      return;
    }
    if (needed > this.#line.length) {
      const grown = new Uint8Array(Math.max(needed, this.#line.length * 2));
      grown.set(this.#line.subarray(0, this.#lineFill));
      this.#line = grown;
    }
    this.#line.set(part, this.#lineFill);
    this.#lineFill = needed;
  }

  /**
   * Handles one line `source[start..lf)`; returns the payload size of a MSG,
   * or -1 for any other line.
   */
  #control(source: Uint8Array, start: number, lf: number): number {
    const end = lf > start && source[lf - 1] === CR ? lf - 1 : lf;
    const first = source[start]! & 0xdf;
    if (first === 0x4d /* M */ || first === 0x48 /* H */) {
      const size = msgPayloadSize(source, start, end);
      if (size >= 0) return size;
    } else if (startsWith(source, start, end, "PING")) {
      this.pings++;
      return -1;
    } else if (startsWith(source, start, end, "PONG")) {
      this.pongs++;
      return -1;
    } else if (startsWith(source, start, end, "INFO")) {
      this.infos++;
      return -1;
    } else if (startsWith(source, start, end, "+OK") || end === start) {
      return -1;
    } else if (startsWith(source, start, end, "-ERR")) {
      const text = this.#decoder.decode(source.subarray(start + 4, end));
      this.error = { code: 0, message: text.trim() };
      return -1;
    }
    const text = this.#decoder.decode(source.subarray(start, end));
    this.error = {
      code: 0,
      message: `Cannot parse server line: "${text.slice(0, 60)}"`,
    };
    return -1;
  }
}
