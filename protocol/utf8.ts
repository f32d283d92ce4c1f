/**
 * UTF-8 validation (RFC 3629), incremental: a sequence may be split across
 * any number of pieces, as a text message is across WebSocket frames and
 * reads. It checks bytes without decoding them into strings.
 *
 * @module
 */

/**
 * Validates a stream of UTF-8 bytes piece by piece. After a piece with an
 * invalid byte it stays failed until {@linkcode Utf8Validator.reset}.
 *
 * @example A character split across two pieces
 * ```ts
 * import { Utf8Validator } from "./mod.ts";
 * const euro = new Uint8Array([0xe2, 0x82, 0xac]);
 * const validator = new Utf8Validator();
 * if (!validator.push(euro.subarray(0, 1))) throw new Error("Refused a lead byte");
 * if (validator.complete) throw new Error("A character is still open");
 * if (!validator.push(euro.subarray(1)) || !validator.complete) throw new Error("Refused the euro sign");
 * ```
 */
export class Utf8Validator {
  /** Continuation bytes still expected; -1 after an invalid byte. */
  #need = 0;
  /** Bounds of the next continuation byte. */
  #lo = 0x80;
  #hi = 0xbf;

  /** Whether no character is open (and nothing invalid was seen). */
  get complete(): boolean {
    return this.#need === 0;
  }

  /** Whether an invalid byte was seen. */
  get failed(): boolean {
    return this.#need < 0;
  }

  /** Forgets everything seen: the start of a new stream. */
  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }

  /**
   * Checks `bytes[start, end)` as the next piece of the stream; false when it
   * holds an invalid byte (and on every call after that).
   */
  push(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    let need = this.#need;
    if (need < 0) return false;
    let lo = this.#lo;
    let hi = this.#hi;
    let i = start;
    while (i < end) {
      const b = bytes[i]!;
      if (need === 0) {
        if (b < 0x80) {
          i++;
          while (i < end && bytes[i]! < 0x80) i++;
          continue;
        }
        if (b < 0xc2) break;
        if (b < 0xe0) {
          need = 1;
        } else if (b < 0xf0) {
          need = 2;
          // No overlong three-byte forms, no UTF-16 surrogates.
          if (b === 0xe0) lo = 0xa0;
          else if (b === 0xed) hi = 0x9f;
        } else if (b < 0xf5) {
          need = 3;
          // No overlong four-byte forms, nothing past U+10FFFF.
          if (b === 0xf0) lo = 0x90;
          else if (b === 0xf4) hi = 0x8f;
        } else {
          break;
        }
      } else {
        if (b < lo || b > hi) break;
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
      i++;
    }
    if (i < end) {
      this.#need = -1;
      return false;
    }
    this.#need = need;
    this.#lo = lo;
    this.#hi = hi;
    return true;
  }
}

const whole = new Utf8Validator();

/**
 * Whether `bytes[start, end)` is valid UTF-8 on its own, no character cut at
 * either end.
 *
 * @example
 * ```ts
 * import { isUtf8 } from "./mod.ts";
 * if (!isUtf8(new TextEncoder().encode("héllo"))) throw new Error("Refused valid text");
 * if (isUtf8(new Uint8Array([0xc0, 0x80]))) throw new Error("Accepted an overlong NUL");
 * ```
 */
export function isUtf8(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): boolean {
  whole.reset();
  return whole.push(bytes, start, end) && whole.complete;
}
