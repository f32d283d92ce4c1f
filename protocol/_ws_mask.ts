/** The RFC 6455 masking XOR, shared by the frame parser and the encoder. */

const keyBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyBytes.buffer);

/** Below this many bytes a plain byte loop beats making a word view. */
const WORDS_FROM = 64;

/**
 * XORs `bytes[start, end)` in place with the 4-byte `key`, the first byte
 * with `key[phase]`. Masking twice with the same key and phase restores the
 * bytes. Long runs go a 32-bit word at a time; the word is built from the
 * key bytes in memory order, so it is right whatever the platform's
 * endianness.
 */
export function maskBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  phase: number,
): void {
  let i = start;
  let p = phase & 3;
  if (end - i >= WORDS_FROM) {
    const base = bytes.byteOffset;
    while (((base + i) & 3) !== 0) {
      bytes[i] = bytes[i]! ^ key[p]!;
      p = (p + 1) & 3;
      i++;
    }
    const words = (end - i) >>> 2;
    keyBytes[0] = key[p]!;
    keyBytes[1] = key[(p + 1) & 3]!;
    keyBytes[2] = key[(p + 2) & 3]!;
    keyBytes[3] = key[(p + 3) & 3]!;
    const mask = keyWord[0]!;
    const view = new Uint32Array(bytes.buffer, base + i, words);
    for (let j = 0; j < words; j++) view[j] = view[j]! ^ mask;
    i += words * 4;
  }
  while (i < end) {
    bytes[i] = bytes[i]! ^ key[p]!;
    p = (p + 1) & 3;
    i++;
  }
}
