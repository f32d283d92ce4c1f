/**
 * SHA-1 (FIPS 180-4), synchronous, for the WebSocket accept key only: SHA-1
 * is not a safe hash for anything that needs collision resistance.
 * `crypto.subtle.digest` is asynchronous, and the upgrade answer is computed
 * in the middle of a parse.
 *
 * @module
 */

/**
 * The SHA-1 digest of `data`, 20 bytes.
 *
 * @example
 * ```ts
 * import { sha1 } from "./mod.ts";
 * const hex = Array.from(sha1(new TextEncoder().encode("abc")), (b) => b.toString(16).padStart(2, "0")).join("");
 * if (hex !== "a9993e364706816aba3e25717850c26c9cd0d89d") throw new Error(`Wrong digest ${hex}`);
 * ```
 */
export function sha1(data: Uint8Array): Uint8Array {
  const length = data.length;
  // The message, a 0x80 byte, zeros, and the bit length in 8 bytes, padded
  // to a multiple of 64 bytes.
  const padded = new Uint8Array(((length + 8) >>> 6) * 64 + 64);
  padded.set(data);
  padded[length] = 0x80;
  const bits = length * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bits / 0x1_0000_0000));
  view.setUint32(padded.length - 4, bits >>> 0);

  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = new Int32Array(80);
  for (let block = 0; block < padded.length; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(block + t * 4);
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
      w[t] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  const out = new Uint8Array(20);
  const outView = new DataView(out.buffer);
  outView.setInt32(0, h0);
  outView.setInt32(4, h1);
  outView.setInt32(8, h2);
  outView.setInt32(12, h3);
  outView.setInt32(16, h4);
  return out;
}
