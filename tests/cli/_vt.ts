/**
 * A tiny virtual terminal for tests: it applies what a program writes to a
 * terminal (text, `\r`, `\n`, tab, and the few CSI sequences msghub uses) to
 * a grid, so a test asserts what a person would see.
 */

/** A screen of unlimited height; lines grow as text is written. */
export class VirtualTerminal {
  #rows: string[][] = [[]];
  #row = 0;
  #column = 0;
  /** Bells rung so far. */
  bells = 0;
  #pending = "";

  /** Applies `output`; an escape sequence may be split across calls. */
  write(output: string): void {
    const input = this.#pending + output;
    this.#pending = "";
    let i = 0;
    while (i < input.length) {
      const char = input[i]!;
      if (char === "\x1b") {
        // deno-lint-ignore no-control-regex
        const match = /^\x1b\[([0-9;]*)([@-~])/.exec(input.slice(i));
        if (match === null) {
          if (input.length - i < 16) this.#pending = input.slice(i);
          else i++;
          if (this.#pending !== "") return;
          continue;
        }
        this.#csi(match[1]!, match[2]!);
        i += match[0].length;
        continue;
      }
      i++;
      if (char === "\r") this.#column = 0;
      else if (char === "\n") this.#lineFeed();
      else if (char === "\x07") this.bells++;
      else if (char === "\t") {
        this.#column = (Math.floor(this.#column / 8) + 1) * 8;
      } else this.#put(char);
    }
  }

  /** The lines of the screen, as far as each was written. */
  get lines(): string[] {
    return this.#rows.map((row) => Array.from(row, (c) => c ?? " ").join(""));
  }

  /** The line the cursor is on. */
  get currentLine(): string {
    return this.lines[this.#row] ?? "";
  }

  /** Where the cursor is. */
  get cursor(): { row: number; column: number } {
    return { row: this.#row, column: this.#column };
  }

  #put(char: string): void {
    const row = this.#rows[this.#row]!;
    while (row.length < this.#column) row.push(" ");
    row[this.#column] = char;
    this.#column++;
  }

  #lineFeed(): void {
    this.#row++;
    while (this.#rows.length <= this.#row) this.#rows.push([]);
  }

  #csi(params: string, final: string): void {
    const n = Number(params.split(";")[0] || "1");
    const row = this.#rows[this.#row]!;
    switch (final) {
      case "K":
        if (params === "2") row.length = 0;
        else row.length = Math.min(row.length, this.#column);
        return;
      case "C":
        this.#column += n;
        return;
      case "D":
        this.#column = Math.max(0, this.#column - n);
        return;
      case "H":
        this.#row = 0;
        this.#column = 0;
        return;
      case "J":
        if (params === "2") this.#rows = this.#rows.map(() => []);
        return;
      default:
        return;
    }
  }
}
