/**
 * Decodes the bytes a terminal in raw mode sends into keys: printable text,
 * editing keys, and the control letters. Pure: no `Deno.*`, no timers.
 *
 * @module
 */

/** A letter that can be typed with Ctrl. */
export type CtrlLetter =
  | "a"
  | "b"
  | "c"
  | "d"
  | "e"
  | "f"
  | "g"
  | "k"
  | "l"
  | "n"
  | "o"
  | "p"
  | "q"
  | "r"
  | "s"
  | "t"
  | "u"
  | "v"
  | "w"
  | "x"
  | "y"
  | "z";

/** A key that is not text. Ctrl-H, Ctrl-I, Ctrl-J and Ctrl-M arrive as the keys terminals send them as. */
export type KeyName =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "word-left"
  | "word-right"
  | "word-backspace"
  | `ctrl-${CtrlLetter}`;

/**
 * One key press, or a run of printable text (typed or pasted).
 *
 * @example
 * ```ts
 * import type { Key } from "./_keys.ts";
 * const keys: Key[] = [{ type: "text", text: "hi" }, { type: "key", name: "enter" }];
 * ```
 */
export type Key =
  | { type: "text"; text: string }
  | { type: "key"; name: KeyName };

const ESC = "\x1b";
/** An escape sequence longer than this is garbage, not a key still arriving. */
const MAX_SEQUENCE = 32;

/**
 * Incremental decoder of terminal input. A UTF-8 character or an escape
 * sequence split across reads is held until the rest arrives. Sequences it
 * does not know are dropped, so they never reach the line as text.
 *
 * @example Arrow keys and text
 * ```ts
 * import { KeyDecoder } from "./_keys.ts";
 * const keys = new KeyDecoder().decode(new TextEncoder().encode("ab\x1b[D\r"));
 * if (keys.length !== 3) throw new Error("Expected text, left, enter");
 * ```
 */
export class KeyDecoder {
  #utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  /** The start of an escape sequence that a later read completes. */
  #pending = "";
  /** The last key was a `\r`: a `\n` right after it is the same Enter. */
  #afterCr = false;

  /** The keys in `chunk`, in order. */
  decode(chunk: Uint8Array): Key[] {
    const input = this.#pending + this.#utf8.decode(chunk, { stream: true });
    // A sequence split across reads goes on; a lone ESC before other keys
    // was the Escape key, which does nothing here.
    const continued = this.#pending !== "";
    this.#pending = "";
    const keys: Key[] = [];
    let i = 0;
    while (i < input.length) {
      const code = input.charCodeAt(i);
      if (code === 0x1b) {
        const used = this.#escape(input, i, keys, continued && i === 0);
        if (used === 0) {
          this.#pending = input.slice(i);
          break;
        }
        i += used;
        this.#afterCr = false;
        continue;
      }
      if (code >= 0x20 && code !== 0x7f) {
        let end = i + 1;
        while (end < input.length && isPrintable(input.charCodeAt(end))) end++;
        keys.push({ type: "text", text: input.slice(i, end) });
        i = end;
        this.#afterCr = false;
        continue;
      }
      const afterCr = this.#afterCr;
      this.#afterCr = code === 0x0d;
      i++;
      if (code === 0x0a && afterCr) continue;
      const name = controlKey(code);
      if (name !== null) keys.push({ type: "key", name });
    }
    return keys;
  }

  /**
   * Decodes the escape sequence at `start` into `keys`; returns how many
   * characters it used, or 0 when it is not complete yet.
   */
  #escape(input: string, start: number, keys: Key[], resumed: boolean): number {
    const next = input[start + 1];
    if (next === undefined) return 0;
    if (next === "[") {
      let end = start + 2;
      while (end < input.length && !isFinal(input.charCodeAt(end))) end++;
      if (end === input.length) {
        return input.length - start > MAX_SEQUENCE ? input.length - start : 0;
      }
      const name = csiKey(input.slice(start + 2, end), input[end]!);
      if (name !== null) keys.push({ type: "key", name });
      return end + 1 - start;
    }
    if (next === "O") {
      const final = input[start + 2];
      if (final === undefined) return 0;
      const name = SS3_KEYS[final];
      if (name !== undefined) keys.push({ type: "key", name });
      return 3;
    }
    if (resumed) return 1;
    // Alt (Meta) with a key: ESC, then the key.
    const name = next === "b"
      ? "word-left"
      : next === "f"
      ? "word-right"
      : next === "\x7f" || next === "\b"
      ? "word-backspace"
      : null;
    if (name !== null) keys.push({ type: "key", name });
    return next === ESC ? 1 : 2;
  }
}

function isPrintable(code: number): boolean {
  return code >= 0x20 && code !== 0x7f && code !== 0x1b;
}

/** The byte that ends a CSI sequence. */
function isFinal(code: number): boolean {
  return code >= 0x40 && code <= 0x7e;
}

function controlKey(code: number): KeyName | null {
  switch (code) {
    case 0x0d:
    case 0x0a:
      return "enter";
    case 0x09:
      return "tab";
    case 0x08:
    case 0x7f:
      return "backspace";
    default:
      if (code >= 0x01 && code <= 0x1a) {
        return `ctrl-${String.fromCharCode(code + 0x60)}` as KeyName;
      }
      return null;
  }
}

const SS3_KEYS: Readonly<Record<string, KeyName>> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

const TILDE_KEYS: Readonly<Record<string, KeyName>> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
};

/** The key of `ESC [ params final`, or `null` for one this editor ignores. */
function csiKey(params: string, final: string): KeyName | null {
  if (final === "~") return TILDE_KEYS[params.split(";")[0] ?? ""] ?? null;
  const key = SS3_KEYS[final];
  if (key === undefined) return null;
  // `1;5C` is Ctrl-Right, `1;3C` Alt-Right: both move by words.
  const modifier = params.split(";")[1];
  if (modifier !== undefined && modifier !== "1") {
    if (key === "left") return "word-left";
    if (key === "right") return "word-right";
  }
  return key;
}
