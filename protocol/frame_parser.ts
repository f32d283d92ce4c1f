import { HEADER_SIZE, Kind, MAX_BODY } from "./constants.ts";
import { writeHeader } from "./encode.ts";
import { FrameTooLargeError, MalformedFrameError } from "./errors.ts";

/**
 * Receives each frame the parser completes. `payload` is a view that is valid
 * only during the call unless `owned` is true: then it lies at offset 5 of a
 * buffer the parser allocated for this frame alone and never touches again,
 * so the callee may keep it or write into it, header bytes included. An empty
 * payload is never owned.
 */
export type FrameHandler = (
  kind: number,
  payload: Uint8Array,
  owned: boolean,
) => void;

/**
 * Receives each frame as `source[start..end)`, without a view made for it:
 * the hub's hot path. `source` is the chunk being parsed, or, when `owned`,
 * the frame's own buffer (header at 0, payload from 5), as with
 * {@linkcode FrameHandler}.
 */
export type FrameRangeHandler = (
  kind: number,
  source: Uint8Array,
  start: number,
  end: number,
  owned: boolean,
) => void;

const EMPTY = new Uint8Array(0);

const State = { Header: 0, Payload: 1 } as const;
type State = typeof State[keyof typeof State];

/**
 * Incremental parser of binary frames. Feed it chunks of any size; it checks
 * each kind's length limit on the 5-byte header, before any payload is
 * buffered, and hands out views of the chunk when a frame lies in it whole.
 * It throws a {@linkcode ProtocolError} on the first violation and must not be
 * fed again after that.
 *
 * @example Parse two frames from one chunk
 * ```ts
 * import { FrameParser, REQUEST_LIMITS } from "./mod.ts";
 * const kinds: number[] = [];
 * const parser = new FrameParser(REQUEST_LIMITS, (kind) => kinds.push(kind));
 * parser.parse(new Uint8Array([2, 0, 0, 0, 0, 3, 0, 0, 0, 0]));
 * if (kinds.join() !== "2,3") throw new Error("Expected IDENTITY then LIST");
 * ```
 */
export class FrameParser {
  #limits: Int32Array;
  #onFrame: FrameRangeHandler;
  #state: State = State.Header;
  #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  #kind = 0;
  #length = 0;
  #frame: Uint8Array | null = null;
  #fill = 0;
  #allocate: (size: number) => Uint8Array = allocate;

  /**
   * Creates a parser that hands each frame to `onFrame` as a view.
   *
   * @param limits largest payload per kind (index = kind), -1 for a kind not
   * accepted: {@linkcode REQUEST_LIMITS} on the hub, {@linkcode REPLY_LIMITS}
   * in a client.
   * @param onFrame called with each frame the parser completes
   */
  constructor(limits: Int32Array, onFrame: FrameHandler) {
    this.#limits = limits;
    this.#onFrame = (kind, source, start, end, owned) =>
      onFrame(kind, source.subarray(start, end), owned);
  }

  /**
   * A parser that hands frames out as ranges of its input instead of views.
   *
   * @example Count relays without making a view per frame
   * ```ts
   * import { encodeRelay, FrameParser, REQUEST_LIMITS } from "./mod.ts";
   * let bytes = 0;
   * const parser = FrameParser.ranges(REQUEST_LIMITS, (_kind, _source, start, end) => bytes += end - start);
   * parser.parse(encodeRelay([2n], new Uint8Array(3)));
   * if (bytes !== 1 + 8 + 3) throw new Error("Wrong payload size");
   * ```
   */
  static ranges(
    limits: Int32Array,
    onFrame: FrameRangeHandler,
    options: {
      /**
       * Where the buffer of a frame split across chunks comes from (a
       * `BufferPool`'s `take`); its bytes need not be zero. The
       * handler gets it as `owned` and answers for giving it back.
       */
      allocate?: (size: number) => Uint8Array;
    } = {},
  ): FrameParser {
    const parser = new FrameParser(limits, () => {});
    parser.#onFrame = onFrame;
    if (options.allocate !== undefined) parser.#allocate = options.allocate;
    return parser;
  }

  /** Bytes of an unfinished frame held between chunks. */
  get buffered(): number {
    return this.#state === State.Header
      ? this.#headerFill
      : HEADER_SIZE + this.#fill;
  }

  /**
   * The missing part of a payload being assembled, or `null`. A caller may
   * read the next bytes straight into it, then report them with
   * {@linkcode filled}: a large body then crosses memory once, not twice.
   */
  get pending(): Uint8Array | null {
    if (this.#frame === null) return null;
    return this.#frame.subarray(HEADER_SIZE + this.#fill);
  }

  /** Accounts for `n` bytes written into {@linkcode pending}. */
  filled(n: number): void {
    const frame = this.#frame;
    if (frame === null || n < 0 || this.#fill + n > this.#length) {
      throw new RangeError(
        `Cannot fill ${n} bytes: the pending payload is shorter`,
      );
    }
    this.#fill += n;
    if (this.#fill === this.#length) {
      this.#state = State.Header;
      this.#frame = null;
      this.#fill = 0;
      writeHeader(frame, 0, this.#kind, this.#length);
      this.#onFrame(this.#kind, frame, HEADER_SIZE, frame.length, true);
    }
  }

  /** Parses one chunk, calling the handler for every frame it completes. */
  parse(chunk: Uint8Array): void {
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.#state === State.Header) {
        if (this.#headerFill === 0 && end - i >= HEADER_SIZE) {
          this.#begin(
            chunk[i]!,
            ((chunk[i + 1]! << 24) | (chunk[i + 2]! << 16) |
              (chunk[i + 3]! << 8) | chunk[i + 4]!) >>> 0,
          );
          i += HEADER_SIZE;
        } else {
          const take = Math.min(HEADER_SIZE - this.#headerFill, end - i);
          this.#header.set(chunk.subarray(i, i + take), this.#headerFill);
          this.#headerFill += take;
          i += take;
          if (this.#headerFill < HEADER_SIZE) return;
          this.#headerFill = 0;
          const h = this.#header;
          this.#begin(
            h[0]!,
            ((h[1]! << 24) | (h[2]! << 16) | (h[3]! << 8) | h[4]!) >>> 0,
          );
        }
        continue;
      }
      // State.Payload
      const length = this.#length;
      if (this.#fill === 0) {
        if (this.#kind === Kind.Relay || this.#kind === Kind.RelayReceipted) {
          checkRelayCount(chunk[i]!, length);
        }
        if (end - i >= length) {
          this.#state = State.Header;
          this.#onFrame(this.#kind, chunk, i, i + length, false);
          i += length;
          continue;
        }
        this.#frame = this.#allocate(HEADER_SIZE + length);
      }
      const frame = this.#frame!;
      const take = Math.min(length - this.#fill, end - i);
      frame.set(chunk.subarray(i, i + take), HEADER_SIZE + this.#fill);
      i += take;
      this.filled(take);
    }
  }

  #begin(kind: number, length: number): void {
    const max = this.#limits[kind]!;
    if (max < 0) {
      throw new MalformedFrameError(
        `Cannot parse frame: unknown kind 0x${hex(kind)}`,
      );
    }
    if (length > max) {
      throw new FrameTooLargeError(
        `Cannot parse frame: length ${length} exceeds ${max} for kind 0x${
          hex(kind)
        }`,
      );
    }
    if (length === 0) {
      if (kind === Kind.Relay || kind === Kind.RelayReceipted) {
        throw new MalformedFrameError(
          "Cannot parse relay: the payload is empty",
        );
      }
      this.#onFrame(kind, EMPTY, 0, 0, false);
      return;
    }
    this.#kind = kind;
    this.#length = length;
    this.#state = State.Payload;
  }
}

function allocate(size: number): Uint8Array {
  return new Uint8Array(size);
}

function checkRelayCount(n: number, length: number): void {
  if (n === 0) {
    throw new MalformedFrameError("Cannot parse relay: zero receivers");
  }
  if (length < 1 + n * 8) {
    throw new MalformedFrameError(
      `Cannot parse relay: length ${length} is too short for ${n} receivers`,
    );
  }
  const body = length - 1 - n * 8;
  if (body > MAX_BODY) {
    throw new FrameTooLargeError(
      `Cannot parse relay: body of ${body} bytes exceeds ${MAX_BODY}`,
    );
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
