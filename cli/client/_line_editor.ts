/**
 * A one-line editor as a pure state machine: keys go in, screen operations
 * and events come out. It knows nothing of terminals or streams, so it is
 * tested by feeding keys; `_terminal.ts` turns its operations into escape
 * sequences.
 *
 * @module
 */
import type { Key, KeyName } from "./_keys.ts";

/**
 * What the editor asks of the screen. The editor owns one line, the prompt
 * line; every column counts one character (code point).
 *
 * @example Draw "> ab" with the cursor after "a"
 * ```ts
 * import type { ScreenOp } from "./_line_editor.ts";
 * const ops: ScreenOp[] = [
 *   { type: "clearLine" },
 *   { type: "write", text: "> ab" },
 *   { type: "column", column: 3 },
 * ];
 * ```
 */
export type ScreenOp =
  /** Go to column 0 and erase the whole line. */
  | { type: "clearLine" }
  /** Write text at the cursor, moving it: no line ends, no control characters but tabs. */
  | { type: "write"; text: string }
  /** Go to column 0 of the next line. */
  | { type: "newline" }
  /** Move the cursor to a column of the current line. */
  | { type: "column"; column: number }
  /** Erase the screen, cursor to the top left. */
  | { type: "clearScreen" }
  /** Ring the bell: the key could not do anything. */
  | { type: "bell" };

/**
 * Something the caller must act on: a finished line, Ctrl-D on an empty
 * line, or Ctrl-C. After any event the editor is idle until
 * {@linkcode LineEditor.begin}.
 */
export type EditorEvent =
  | { type: "line"; line: string }
  | { type: "eof" }
  | { type: "interrupt"; line: string };

/** The answer to one key. */
export interface EditResult {
  /** What to draw, in order. */
  ops: ScreenOp[];
  /** A finished line, the end of input or an interrupt; `null` while editing. */
  event: EditorEvent | null;
}

/** Options of {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /** Width of the terminal. Default 80. */
  columns?: number;
  /** Most lines kept in the history. Default 1000. */
  historyLimit?: number;
}

const NONE: EditResult = { ops: [], event: null };

/**
 * Edits one line at a time behind a prompt: cursor keys, Home/End,
 * Backspace/Delete, Ctrl-A/E/U/K/W, history with Up/Down, and Tab completion
 * of the first word. A line wider than the screen scrolls sideways. Text
 * printed with {@linkcode print} goes above the prompt line, which is then
 * drawn again with what was being typed.
 *
 * @example Type a line
 * ```ts
 * import { LineEditor } from "./_line_editor.ts";
 * const editor = new LineEditor();
 * editor.begin("> ");
 * editor.feed({ type: "text", text: "list" });
 * const { event } = editor.feed({ type: "key", name: "enter" });
 * if (event?.type !== "line" || event.line !== "list") throw new Error("No line");
 * ```
 */
export class LineEditor {
  #columns: number;
  #historyLimit: number;
  #prompt = "";
  #words: readonly string[] = [];
  /** The line, one entry per code point, so the cursor never splits one. */
  #chars: string[] = [];
  #cursor = 0;
  #active = false;
  #history: string[] = [];
  /** Which history line is shown; `#history.length` is the line being typed. */
  #historyIndex = 0;
  /** The line being typed, kept while older lines are shown. */
  #draft: string[] = [];

  /** Makes an editor, idle until {@linkcode LineEditor.begin}. */
  constructor(options: LineEditorOptions = {}) {
    this.#columns = options.columns ?? 80;
    this.#historyLimit = options.historyLimit ?? 1000;
  }

  /** The text of the line. */
  get line(): string {
    return this.#chars.join("");
  }

  /** The cursor, in characters from the start of the line. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Whether a prompt is shown and keys are taken. */
  get active(): boolean {
    return this.#active;
  }

  /** The lines entered so far, oldest first. */
  get history(): readonly string[] {
    return this.#history;
  }

  /**
   * Starts a new, empty line behind `prompt`. Tab completes the first word
   * from `words`.
   */
  begin(prompt: string, words: readonly string[] = []): ScreenOp[] {
    this.#prompt = stripControls(prompt);
    this.#words = words;
    this.#chars = [];
    this.#cursor = 0;
    this.#historyIndex = this.#history.length;
    this.#draft = [];
    this.#active = true;
    return this.#render();
  }

  /** Handles one key. Keys are ignored while idle. */
  feed(key: Key): EditResult {
    if (!this.#active) return NONE;
    if (key.type === "text") {
      const chars = [...stripControls(key.text)];
      if (chars.length === 0) return NONE;
      this.#chars.splice(this.#cursor, 0, ...chars);
      this.#cursor += chars.length;
      return this.#redraw();
    }
    return this.#key(key.name);
  }

  /**
   * Prints `text` above the prompt line; each `\n` starts a new line. While
   * a line is being edited it is drawn again below, cursor where it was.
   */
  print(text: string): ScreenOp[] {
    const ops: ScreenOp[] = [{ type: "clearLine" }];
    for (const line of text.replaceAll("\r\n", "\n").split("\n")) {
      if (line !== "") ops.push({ type: "write", text: printable(line) });
      ops.push({ type: "newline" });
    }
    return this.#active ? [...ops, ...this.#render()] : ops;
  }

  /** The terminal is now `columns` wide: draws the line again. */
  resize(columns: number): ScreenOp[] {
    this.#columns = columns;
    return this.#active ? this.#render() : [];
  }

  /** Leaves the line as it is and moves below it; the editor goes idle. */
  close(): ScreenOp[] {
    if (!this.#active) return [];
    this.#active = false;
    return [{ type: "newline" }];
  }

  #key(name: KeyName): EditResult {
    switch (name) {
      case "enter":
        return this.#submit();
      case "ctrl-d":
        if (this.#chars.length === 0) {
          this.#active = false;
          return { ops: [{ type: "newline" }], event: { type: "eof" } };
        }
        return this.#delete(this.#cursor, this.#cursor + 1);
      case "ctrl-c": {
        const line = this.line;
        this.#active = false;
        const ops = this.#render(this.#chars.length);
        ops.push({ type: "write", text: "^C" }, { type: "newline" });
        return { ops, event: { type: "interrupt", line } };
      }
      case "left":
      case "ctrl-b":
        return this.#move(this.#cursor - 1);
      case "right":
      case "ctrl-f":
        return this.#move(this.#cursor + 1);
      case "home":
      case "ctrl-a":
        return this.#move(0);
      case "end":
      case "ctrl-e":
        return this.#move(this.#chars.length);
      case "word-left":
        return this.#move(this.#wordStart());
      case "word-right":
        return this.#move(this.#wordEnd());
      case "backspace":
        return this.#delete(this.#cursor - 1, this.#cursor);
      case "delete":
        return this.#delete(this.#cursor, this.#cursor + 1);
      case "ctrl-u":
        return this.#delete(0, this.#cursor);
      case "ctrl-k":
        return this.#delete(this.#cursor, this.#chars.length);
      case "ctrl-w":
      case "word-backspace":
        return this.#delete(this.#wordStart(), this.#cursor);
      case "up":
      case "ctrl-p":
        return this.#recall(this.#historyIndex - 1);
      case "down":
      case "ctrl-n":
        return this.#recall(this.#historyIndex + 1);
      case "tab":
        return this.#complete();
      case "ctrl-l":
        return {
          ops: [{ type: "clearScreen" }, ...this.#render()],
          event: null,
        };
      default:
        return NONE;
    }
  }

  #submit(): EditResult {
    const line = this.line;
    this.#active = false;
    if (line.trim() !== "" && this.#history.at(-1) !== line) {
      this.#history.push(line);
      if (this.#history.length > this.#historyLimit) this.#history.shift();
    }
    return {
      ops: [...this.#render(this.#chars.length), { type: "newline" }],
      event: { type: "line", line },
    };
  }

  #move(to: number): EditResult {
    const cursor = Math.max(0, Math.min(this.#chars.length, to));
    if (cursor === this.#cursor) return bell();
    this.#cursor = cursor;
    return this.#redraw();
  }

  #delete(from: number, to: number): EditResult {
    const start = Math.max(0, from);
    const end = Math.min(this.#chars.length, to);
    if (end <= start) return bell();
    this.#chars.splice(start, end - start);
    this.#cursor = start;
    return this.#redraw();
  }

  /** Where the word before the cursor starts, spaces before it included. */
  #wordStart(): number {
    let i = this.#cursor;
    while (i > 0 && isSpace(this.#chars[i - 1])) i--;
    while (i > 0 && !isSpace(this.#chars[i - 1])) i--;
    return i;
  }

  /** Where the word at or after the cursor ends. */
  #wordEnd(): number {
    let i = this.#cursor;
    while (i < this.#chars.length && isSpace(this.#chars[i])) i++;
    while (i < this.#chars.length && !isSpace(this.#chars[i])) i++;
    return i;
  }

  #recall(index: number): EditResult {
    if (index < 0 || index > this.#history.length) return bell();
    if (this.#historyIndex === this.#history.length) this.#draft = this.#chars;
    this.#historyIndex = index;
    const line = this.#history[index];
    this.#chars = line === undefined ? this.#draft : [...line];
    this.#cursor = this.#chars.length;
    return this.#redraw();
  }

  /** Completes the first word: all of it when one word fits, else what they share. */
  #complete(): EditResult {
    const prefix = this.#chars.slice(0, this.#cursor).join("");
    if (/\s/.test(prefix)) return bell();
    const lower = prefix.toLowerCase();
    const matches = this.#words.filter((word) => word.startsWith(lower));
    if (matches.length === 0) return bell();
    const shared = commonPrefix(matches);
    const after = this.#chars[this.#cursor];
    const addition = matches.length === 1 && !isSpace(after)
      ? `${shared.slice(prefix.length)} `
      : shared.slice(prefix.length);
    if (addition === "") {
      if (matches.length === 1) return bell();
      // Nothing to add: show the choices, as shells do.
      return { ops: this.print(matches.join("  ")), event: null };
    }
    // The typed prefix takes the word's case, so "LI" completes to "list".
    const chars = [...shared.slice(0, prefix.length), ...addition];
    this.#chars.splice(0, this.#cursor, ...chars);
    this.#cursor = chars.length;
    return this.#redraw();
  }

  #redraw(): EditResult {
    return { ops: this.#render(), event: null };
  }

  /**
   * Draws the prompt and the part of the line around `cursor` that fits,
   * keeping the last column free so the cursor never wraps.
   */
  #render(cursor = this.#cursor): ScreenOp[] {
    const promptWidth = [...this.#prompt].length;
    const room = Math.max(1, this.#columns - 1 - promptWidth);
    const start = Math.max(0, cursor - room);
    const visible = this.#chars.slice(start, start + room);
    const ops: ScreenOp[] = [
      { type: "clearLine" },
      { type: "write", text: this.#prompt + visible.join("") },
    ];
    // After the write the cursor is at the end of the line already.
    if (cursor - start < visible.length) {
      ops.push({ type: "column", column: promptWidth + cursor - start });
    }
    return ops;
  }
}

function bell(): EditResult {
  return { ops: [{ type: "bell" }], event: null };
}

function isSpace(char: string | undefined): boolean {
  return char === " " || char === "\t";
}

function commonPrefix(words: readonly string[]): string {
  let shared = words[0] ?? "";
  for (const word of words) {
    while (!word.startsWith(shared)) shared = shared.slice(0, -1);
  }
  return shared;
}

/** Matches C0 and C1 control characters and DEL. */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;

function stripControls(text: string): string {
  return text.replace(CONTROLS, "");
}

/**
 * Text from other clients, made safe for a terminal: control characters
 * (which could move the cursor or change the terminal's state) are shown as
 * `^X` or `\xHH`; a tab stays a tab.
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, (char) => {
    const code = char.charCodeAt(0);
    if (char === "\t") return char;
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return "^?";
    return `\\x${code.toString(16)}`;
  });
}
