/**
 * The receiving side of the msghub driver: counts DELIVER frames by walking
 * frame headers over each read chunk. Only a frame's first few bytes (header,
 * sender and stamp) are ever looked at; bodies are skipped, and nothing is
 * allocated per frame. Pure code.
 *
 * @module
 */
import { HEADER_SIZE, Kind, readU32, readU64 } from "../protocol/mod.ts";
import { elapsedSinceWrapped, readStamp, stampRange } from "./stamp.ts";
import type { LatencyHistogram } from "./stats.ts";

/** Header, sender id and a 6-byte stamp; also covers IDENTITY_REPLY and ERROR's code. */
const PREFIX = HEADER_SIZE + 8 + 8;
/** Where a DELIVER body starts in its frame. */
const BODY_AT = HEADER_SIZE + 8;

/**
 * Counts what a msghub receiver (or sender) gets. Feed it every chunk read
 * from the connection with the time it was read; it counts DELIVER frames and
 * their body bytes, records the latency of stamped ones, and notes the
 * control frames a driver must act on: PING (answer PONG), IDENTITY_REPLY
 * (the connection's id) and ERROR (the hub closes the connection).
 *
 * @example Count two DELIVER frames split across chunks
 * ```ts
 * import { encodeDeliver } from "../protocol/mod.ts";
 * import { FrameWalker } from "./frame_walker.ts";
 * import { LatencyHistogram } from "./stats.ts";
 * const walker = new FrameWalker(new LatencyHistogram(), 0);
 * const frame = encodeDeliver(1, new Uint8Array(10));
 * const both = new Uint8Array([...frame, ...frame]);
 * walker.feed(both.subarray(0, 7), 0);
 * walker.feed(both.subarray(7), 0);
 * if (walker.delivered !== 2 || walker.bodyBytes !== 20) throw new Error("Miscounted");
 * ```
 */
export class FrameWalker {
  /** DELIVER frames counted. */
  delivered = 0;
  /** Body bytes of the DELIVER frames counted. */
  bodyBytes = 0;
  /** PINGs received and not yet answered; the driver answers and resets it. */
  pings = 0;
  /** The id from IDENTITY_REPLY, once one arrived. */
  id: bigint | null = null;
  /** The hub's ERROR, once one arrived: the connection is closing. */
  error: { code: number; message: string } | null = null;
  #histogram: LatencyHistogram;
  #stampLength: number;
  #range: number;
  /** Bytes still to skip of the current frame, past its prefix. */
  #skip = 0;
  /** A prefix split across chunks is gathered here. */
  #scratch = new Uint8Array(PREFIX);
  #fill = 0;
  #decoder = new TextDecoder();

  /**
   * Makes a walker for one connection's reads.
   *
   * @param histogram where latencies are recorded.
   * @param stampLength stamp bytes at the start of each body; 0 for none.
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
    while (i < end) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, end - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      if (this.#fill === 0 && end - i >= HEADER_SIZE) {
        const total = HEADER_SIZE + readU32(chunk, i + 1);
        const want = Math.min(total, PREFIX);
        if (end - i >= want) {
          this.#frame(chunk, i, total, now);
          this.#skip = total - want;
          i += want;
          continue;
        }
      }
      // The prefix is split: gather it byte by byte into the scratch buffer.
      const scratch = this.#scratch;
      scratch[this.#fill++] = chunk[i++]!;
      if (this.#fill < HEADER_SIZE) continue;
      const total = HEADER_SIZE + readU32(scratch, 1);
      if (this.#fill < Math.min(total, PREFIX)) continue;
      this.#fill = 0;
      this.#frame(scratch, 0, total, now);
      this.#skip = total - Math.min(total, PREFIX);
    }
  }

  /** One frame whose prefix lies at `at` in `source`; `now` is wrapped. */
  #frame(source: Uint8Array, at: number, total: number, now: number): void {
    const kind = source[at]!;
    if (kind === Kind.Deliver) {
      const body = total - BODY_AT;
      this.delivered++;
      this.bodyBytes += body;
      const length = this.#stampLength;
      if (length > 0 && body >= length) {
        const stamp = readStamp(source, at + BODY_AT, length);
        this.#histogram.record(elapsedSinceWrapped(stamp, this.#range, now));
      }
    } else if (kind === Kind.Ping) {
      this.pings++;
    } else if (kind === Kind.IdentityReply && total >= HEADER_SIZE + 8) {
      this.id = readU64(source, at + HEADER_SIZE);
    } else if (kind === Kind.Error && this.error === null) {
      const code = total > HEADER_SIZE ? source[at + HEADER_SIZE]! : 0;
      // Only the message's first bytes lie in the prefix; enough to name it.
      const end = Math.min(at + total, at + PREFIX, source.length);
      const message = this.#decoder.decode(
        source.subarray(at + HEADER_SIZE + 1, end),
      );
      this.error = { code, message };
    }
  }
}
