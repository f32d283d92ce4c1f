/** The decoder of terminal input into keys. */
import { type Key, KeyDecoder, type KeyName } from "../../cli/client/_keys.ts";
import { assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();

function decode(...chunks: Array<string | Uint8Array>): Key[] {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) =>
    decoder.decode(typeof chunk === "string" ? encoder.encode(chunk) : chunk)
  );
}

function key(name: KeyName): Key {
  return { type: "key", name };
}

function text(value: string): Key {
  return { type: "text", text: value };
}

Deno.test("printable runs are one text key; controls are keys", () => {
  assertEquals(decode("ab c\x01\x05\x15\x0b\x17\x03\x04\x0c"), [
    text("ab c"),
    key("ctrl-a"),
    key("ctrl-e"),
    key("ctrl-u"),
    key("ctrl-k"),
    key("ctrl-w"),
    key("ctrl-c"),
    key("ctrl-d"),
    key("ctrl-l"),
  ]);
  assertEquals(decode("\t\x7f\x08\r"), [
    key("tab"),
    key("backspace"),
    key("backspace"),
    key("enter"),
  ]);
});

Deno.test("CR LF is one Enter; CR CR and LF alone are Enters each", () => {
  assertEquals(decode("a\r\nb"), [text("a"), key("enter"), text("b")]);
  assertEquals(decode("\r", "\n"), [key("enter")]);
  assertEquals(decode("\r\r\n\n"), [
    key("enter"),
    key("enter"),
    key("enter"),
  ]);
});

Deno.test("escape sequences of xterm and the Linux console", () => {
  assertEquals(
    decode(
      "\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[3~",
    ),
    [
      key("up"),
      key("down"),
      key("right"),
      key("left"),
      key("home"),
      key("end"),
      key("home"),
      key("end"),
      key("home"),
      key("end"),
      key("delete"),
    ],
  );
  assertEquals(decode("\x1b[1;5C\x1b[1;5D\x1bb\x1bf\x1b\x7f"), [
    key("word-right"),
    key("word-left"),
    key("word-left"),
    key("word-right"),
    key("word-backspace"),
  ]);
});

Deno.test("unknown sequences are dropped, not typed", () => {
  assertEquals(decode("a\x1b[200~b\x1b[5~\x1b[Z\x1bOPc"), [
    text("a"),
    text("b"),
    text("c"),
  ]);
});

Deno.test("a sequence or a character split across reads waits for the rest", () => {
  assertEquals(decode("x\x1b", "[", "1;5", "D"), [
    text("x"),
    key("word-left"),
  ]);
  const check = encoder.encode("é✓");
  assertEquals(
    decode(check.subarray(0, 1), check.subarray(1, 4), check.subarray(4)),
    [
      text("é"),
      text("✓"),
    ],
  );
});

Deno.test("a lone Escape before later keys does not swallow them", () => {
  assertEquals(decode("\x1b", "x"), [text("x")]);
  assertEquals(decode("\x1b", "\r"), [key("enter")]);
  assertEquals(decode("\x1b\x1b[A"), [key("up")]);
});
