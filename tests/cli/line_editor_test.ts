/**
 * The line editor state machine, driven key by key; what it draws is run
 * through the terminal encoding and a virtual terminal, so the assertions
 * are about what a person would see.
 */
import type { Key, KeyName } from "../../cli/client/_keys.ts";
import {
  type EditorEvent,
  LineEditor,
  type LineEditorOptions,
  printable,
} from "../../cli/client/_line_editor.ts";
import { encodeOps } from "../../cli/client/_terminal.ts";
import { assertEquals } from "../_assert.ts";
import { VirtualTerminal } from "./_vt.ts";

const WORDS = ["echo", "help", "identity", "list", "quit", "relay"];

/** An editor wired to a virtual terminal. */
class Harness {
  readonly editor: LineEditor;
  readonly screen = new VirtualTerminal();
  readonly events: EditorEvent[] = [];

  constructor(options: LineEditorOptions = {}, words = WORDS) {
    this.editor = new LineEditor(options);
    this.screen.write(encodeOps(this.editor.begin("> ", words)));
  }

  type(text: string): this {
    return this.feed({ type: "text", text });
  }

  press(...names: KeyName[]): this {
    for (const name of names) this.feed({ type: "key", name });
    return this;
  }

  feed(key: Key): this {
    const { ops, event } = this.editor.feed(key);
    this.screen.write(encodeOps(ops));
    if (event !== null) this.events.push(event);
    return this;
  }

  print(text: string): this {
    this.screen.write(encodeOps(this.editor.print(text)));
    return this;
  }

  /** The line the cursor is on, and the cursor's column in it. */
  get view(): [string, number] {
    return [this.screen.currentLine, this.screen.cursor.column];
  }
}

Deno.test("typing draws the prompt and the line; Enter hands it over", () => {
  const h = new Harness();
  assertEquals(h.view, ["> ", 2]);
  h.type("echo hé ✓");
  assertEquals(h.view, ["> echo hé ✓", 11]);
  assertEquals(h.editor.cursor, 9);
  h.press("enter");
  assertEquals(h.events, [{ type: "line", line: "echo hé ✓" }]);
  assertEquals(h.screen.lines, ["> echo hé ✓", ""]);
  assertEquals(h.editor.active, false);
  // Idle until begin(): keys do nothing.
  h.type("x");
  assertEquals(h.screen.lines, ["> echo hé ✓", ""]);
  h.screen.write(encodeOps(h.editor.begin("> ")));
  assertEquals(h.view, ["> ", 2]);
});

Deno.test("cursor keys, Home/End and Ctrl-A/E/B/F move; text goes in at the cursor", () => {
  const h = new Harness().type("helo");
  h.press("left").type("l");
  assertEquals(h.view, ["> hello", 6]);
  h.press("home").type("[");
  assertEquals(h.view, ["> [hello", 3]);
  h.press("end").type("]");
  assertEquals(h.view, ["> [hello]", 9]);
  h.press("ctrl-a", "ctrl-f", "ctrl-f");
  assertEquals(h.view[1], 4);
  h.press("ctrl-e", "ctrl-b");
  assertEquals(h.view[1], 8);
  const bells = h.screen.bells;
  h.press("end", "right");
  assertEquals(h.screen.bells, bells + 1);
});

Deno.test("Backspace, Delete and Ctrl-D, Ctrl-U, Ctrl-K and Ctrl-W edit", () => {
  const h = new Harness().type("relay 2,3 hello world");
  h.press("backspace");
  assertEquals(h.editor.line, "relay 2,3 hello worl");
  h.press("ctrl-w");
  assertEquals(h.view, ["> relay 2,3 hello ", 18]);
  h.press("ctrl-w", "ctrl-w");
  assertEquals(h.editor.line, "relay ");
  h.type("2 hi").press("home", "delete", "ctrl-d");
  assertEquals(h.editor.line, "lay 2 hi");
  h.press("word-right", "word-right").press("ctrl-k");
  assertEquals(h.view, ["> lay 2", 7]);
  h.press("word-left", "ctrl-u");
  assertEquals(h.view, ["> 2", 2]);
  assertEquals(h.events, []);
});

Deno.test("Up and Down walk the history and keep the line being typed", () => {
  const h = new Harness();
  for (const line of ["identity", "list", "list", "  ", "echo hi"]) {
    h.type(line).press("enter");
    h.screen.write(encodeOps(h.editor.begin("> ")));
  }
  // Blank lines and repeats are not kept.
  assertEquals(h.editor.history, ["identity", "list", "echo hi"]);
  h.type("draft");
  h.press("up");
  assertEquals(h.view, ["> echo hi", 9]);
  h.press("up", "ctrl-p");
  assertEquals(h.view, ["> identity", 10]);
  const bells = h.screen.bells;
  h.press("up");
  assertEquals(h.screen.bells, bells + 1);
  h.press("down", "ctrl-n");
  assertEquals(h.editor.line, "echo hi");
  h.press("down");
  assertEquals(h.view, ["> draft", 7]);
  h.press("down");
  assertEquals(h.screen.bells, bells + 2);
  // A recalled line is edited and sent like a typed one.
  h.press("up").type("!").press("enter");
  assertEquals(h.events.at(-1), { type: "line", line: "echo hi!" });
});

Deno.test("the history keeps the last historyLimit lines", () => {
  const h = new Harness({ historyLimit: 2 });
  for (const line of ["a", "b", "c"]) {
    h.type(line).press("enter");
    h.editor.begin("> ");
  }
  assertEquals(h.editor.history, ["b", "c"]);
});

Deno.test("Tab completes the command word", () => {
  const h = new Harness().type("ide").press("tab");
  assertEquals(h.view, ["> identity ", 11]);
  assertEquals(h.editor.line, "identity ");
  const upper = new Harness().type("LI").press("tab");
  assertEquals(upper.editor.line, "list ");
  // Completion stops at the first word.
  const bells = h.screen.bells;
  h.press("tab");
  assertEquals(h.screen.bells, bells + 1);
  const none = new Harness().type("x").press("tab");
  assertEquals([none.editor.line, none.screen.bells], ["x", 1]);
  // In the middle of a line, only the part before the cursor counts.
  const middle = new Harness().type("ec hi").press("home", "right", "right");
  middle.press("tab");
  assertEquals(middle.view, ["> echo hi", 6]);
});

Deno.test("Tab completes what several words share, then lists them", () => {
  const h = new Harness({}, ["list", "listen", "identity"]).type("l");
  h.press("tab");
  assertEquals(h.view, ["> list", 6]);
  h.press("tab");
  assertEquals(h.screen.lines, ["list  listen", "> list"]);
  assertEquals(h.view, ["> list", 6]);
  const all = new Harness().press("tab");
  assertEquals(all.screen.lines, [WORDS.join("  "), "> "]);
});

Deno.test("a message mid-line prints above the prompt and the line is redrawn", () => {
  const h = new Harness().type("echo helo").press("left", "left");
  assertEquals(h.view, ["> echo helo", 9]);
  h.print("message from 2: hi there");
  assertEquals(h.screen.lines, ["message from 2: hi there", "> echo helo"]);
  assertEquals(h.view, ["> echo helo", 9]);
  // Typing goes on where it was.
  h.type("l").press("enter");
  assertEquals(h.events, [{ type: "line", line: "echo hello" }]);
  assertEquals(h.screen.lines, [
    "message from 2: hi there",
    "> echo hello",
    "",
  ]);
});

Deno.test("printed text keeps its lines and shows control characters", () => {
  const h = new Harness().type("x");
  h.print("one\r\ntwo\x1b[2J\x07\x9b\x7f");
  assertEquals(h.screen.lines, ["one", "two^[[2J^G\\x9b^?", "> x"]);
  assertEquals(h.screen.bells, 0);
  assertEquals(printable("tab\tkept"), "tab\tkept");
  // Pasted control characters never reach the line.
  h.type("a\x1bb\x00");
  assertEquals(h.editor.line, "xab");
});

Deno.test("nothing is redrawn under a message while idle", () => {
  const editor = new LineEditor();
  assertEquals(editor.print("hello"), [
    { type: "clearLine" },
    { type: "write", text: "hello" },
    { type: "newline" },
  ]);
  assertEquals(editor.close(), []);
  editor.begin("> ");
  assertEquals(editor.close(), [{ type: "newline" }]);
});

Deno.test("Ctrl-D on an empty line is end of input; Ctrl-C drops the line", () => {
  const eof = new Harness().press("ctrl-d");
  assertEquals(eof.events, [{ type: "eof" }]);
  assertEquals(eof.editor.active, false);
  const interrupt = new Harness().type("echo hal").press("home", "ctrl-c");
  assertEquals(interrupt.events, [{ type: "interrupt", line: "echo hal" }]);
  assertEquals(interrupt.screen.lines, ["> echo hal^C", ""]);
  const empty = new Harness().press("ctrl-c");
  assertEquals(empty.events, [{ type: "interrupt", line: "" }]);
});

Deno.test("a line wider than the screen scrolls sideways", () => {
  const h = new Harness({ columns: 12 });
  h.type("abcdefghijklmnop");
  // 12 columns: the prompt, 9 characters, and a free last column.
  assertEquals(h.view, ["> hijklmnop", 11]);
  h.press("home");
  assertEquals(h.view, ["> abcdefghi", 2]);
  h.screen.write(encodeOps(h.editor.resize(20)));
  assertEquals(h.view, ["> abcdefghijklmnop", 2]);
  h.press("ctrl-l");
  assertEquals(h.screen.lines[0], "> abcdefghijklmnop");
});

Deno.test("screen operations become ANSI sequences", () => {
  assertEquals(
    encodeOps([
      { type: "clearLine" },
      { type: "write", text: "> ab" },
      { type: "column", column: 3 },
      { type: "column", column: 0 },
      { type: "newline" },
      { type: "bell" },
      { type: "clearScreen" },
    ]),
    "\r\x1b[K> ab\r\x1b[3C\r\r\n\x07\x1b[H\x1b[2J",
  );
});
