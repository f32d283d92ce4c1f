/**
 * The thin layer between {@linkcode LineEditor} and a real terminal: raw
 * mode, the screen operations as ANSI escape sequences, the width, and the
 * signals a terminal session cares about.
 *
 * @module
 */
import type { LineEditor, ScreenOp } from "./_line_editor.ts";
import { Output, type Writer } from "./_io.ts";

/** Standard input as a terminal session needs it; `Deno.stdin` fits. */
export interface TerminalInput {
  /** The bytes typed. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Whether this is a terminal. */
  isTerminal(): boolean;
  /** Raw mode on (every key as typed, no echo) or off. */
  setRaw(mode: boolean): void;
}

/**
 * The escape sequences for `ops`, understood by every VT100-style terminal
 * (xterm, the Linux console, Windows Terminal).
 *
 * @example
 * ```ts
 * import { encodeOps } from "./_terminal.ts";
 * const bytes = encodeOps([{ type: "clearLine" }, { type: "write", text: "> " }]);
 * if (bytes !== "\r\x1b[K> ") throw new Error(JSON.stringify(bytes));
 * ```
 */
export function encodeOps(ops: readonly ScreenOp[]): string {
  let out = "";
  for (const op of ops) {
    switch (op.type) {
      case "clearLine":
        out += "\r\x1b[K";
        break;
      case "write":
        out += op.text;
        break;
      case "newline":
        // Raw mode may turn off the output's `\n` to `\r\n`: say both.
        out += "\r\n";
        break;
      case "column":
        out += op.column > 0 ? `\r\x1b[${op.column}C` : "\r";
        break;
      case "clearScreen":
        out += "\x1b[H\x1b[2J";
        break;
      case "bell":
        out += "\x07";
        break;
    }
  }
  return out;
}

/**
 * Owns the terminal for a session: puts it in raw mode, draws what the
 * editor asks in order, and puts it back.
 */
export class Terminal {
  #input: TerminalInput;
  #output: Output;
  #last: Promise<void> = Promise.resolve();
  #raw = false;
  /** The first write that failed (the terminal went away), if any. */
  failure: unknown = null;

  /** Wraps the terminal's two ends; the mode is untouched until `enterRaw`. */
  constructor(input: TerminalInput, output: Writer) {
    this.#input = input;
    this.#output = new Output(output);
  }

  /** Raw mode: keys arrive one by one, unechoed, Ctrl-C as a byte. */
  enterRaw(): void {
    this.#input.setRaw(true);
    this.#raw = true;
  }

  /** Cooked mode again; safe to call twice. */
  restore(): void {
    if (!this.#raw) return;
    this.#raw = false;
    try {
      this.#input.setRaw(false);
    } catch {
      // The terminal is gone: there is nothing to restore.
    }
  }

  /** Queues `ops` behind every earlier draw; never rejects. */
  draw(ops: readonly ScreenOp[]): void {
    if (ops.length === 0 || this.failure !== null) return;
    this.#last = this.#output.write(encodeOps(ops)).catch((error) => {
      this.failure ??= error;
    });
  }

  /** Resolves once everything drawn so far is written. */
  flush(): Promise<void> {
    return this.#last;
  }
}

/** The width of the terminal on stdout, 80 when it cannot be told. */
export function terminalColumns(): number {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : 80;
  } catch {
    return 80;
  }
}

/**
 * Calls `handler` for each of `signals` the platform supports; returns the
 * function that stops listening.
 */
export function onSignals(
  signals: readonly Deno.Signal[],
  handler: () => void,
): () => void {
  const added: Deno.Signal[] = [];
  for (const signal of signals) {
    try {
      Deno.addSignalListener(signal, handler);
      added.push(signal);
    } catch {
      // Not on this platform (Windows has no SIGWINCH).
    }
  }
  return () => {
    for (const signal of added) Deno.removeSignalListener(signal, handler);
  };
}

/** Redraws `editor` whenever the terminal is resized; returns the stopper. */
export function followResize(
  terminal: Terminal,
  editor: LineEditor,
): () => void {
  return onSignals(
    ["SIGWINCH"],
    () => terminal.draw(editor.resize(terminalColumns())),
  );
}
