import { assert, assertEquals, assertLess, assertThrows } from "../_assert.ts";
import {
  encodeTextDeliver,
  formatList,
  formatRelayed,
  FrameTooLargeError,
  MAX_BODY,
  MAX_ID,
  MAX_LINE,
  MAX_RECEIVERS,
  parseIds,
  ProtocolError,
  TEXT_HELP,
  type TextCommand,
  TextParser,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();
const LF = 0x0a;
const CR = 0x0d;

function bytes(input: string | Uint8Array): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

function concat(...parts: Array<string | Uint8Array>): Uint8Array {
  const arrays = parts.map(bytes);
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

function filled(length: number, byte = 0x61): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

/**
 * Feeds the chunks to a fresh parser, checking that none is written into.
 * With `reuse`, every chunk is copied into one read buffer that is scribbled
 * over after each parse, as a socket read loop does: the parser must copy
 * what it keeps.
 */
function run(chunks: readonly Uint8Array[], reuse = false): {
  commands: TextCommand[];
  parser: TextParser;
} {
  const commands: TextCommand[] = [];
  const parser = new TextParser((command) => commands.push(command));
  const scratch = new Uint8Array(
    reuse ? Math.max(0, ...chunks.map((c) => c.length)) : 0,
  );
  for (const chunk of chunks) {
    if (reuse) {
      scratch.set(chunk);
      parser.parse(scratch.subarray(0, chunk.length));
      scratch.fill(0xee);
      continue;
    }
    const before = chunk.length <= 4096 ? chunk.slice() : null;
    parser.parse(chunk);
    if (before !== null) assertEquals(chunk, before);
  }
  return { commands, parser };
}

function cut(input: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < input.length; i += size) {
    out.push(input.subarray(i, i + size));
  }
  return out;
}

/**
 * One byte at a time near every line end (and the start and end), larger
 * chunks inside long lines: byte-at-a-time over a whole megabyte costs
 * seconds and exercises nothing more.
 */
function mixed(input: Uint8Array): Uint8Array[] {
  const near = new Uint8Array(input.length);
  const mark = (at: number) => {
    for (
      let i = Math.max(0, at - 16);
      i < Math.min(input.length, at + 16);
      i++
    ) {
      near[i] = 1;
    }
  };
  mark(0);
  mark(input.length - 1);
  for (let i = 0; i < input.length; i++) {
    if (input[i] === LF || input[i] === CR) mark(i);
  }
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < input.length) {
    if (near[i]) {
      out.push(input.subarray(i, i + 1));
      i++;
    } else {
      let end = i;
      while (end < input.length && !near[end] && end - i < 65_536) end++;
      out.push(input.subarray(i, end));
      i = end;
    }
  }
  return out;
}

/**
 * Parses `input` whole, one byte at a time (or `mixed` when large), in odd
 * chunk sizes and split in two at every offset (when short), each also through
 * a reused read buffer; every way must give the same commands, which are
 * returned.
 */
function parseAll(input: string | Uint8Array): TextCommand[] {
  const data = bytes(input);
  const whole = run([data]);
  const ways: Array<[string, Uint8Array[]]> = [
    ["bytewise", data.length <= 100_000 ? cut(data, 1) : mixed(data)],
    ["chunks of 3", data.length <= 100_000 ? cut(data, 3) : []],
    ["chunks of 4093", cut(data, 4093)],
  ];
  if (data.length <= 400) {
    for (let at = 0; at <= data.length; at++) {
      ways.push([`split at ${at}`, [data.subarray(0, at), data.subarray(at)]]);
    }
  }
  for (const [name, chunks] of ways) {
    if (chunks.length === 0) continue;
    for (const reuse of [false, true]) {
      const other = run(chunks, reuse);
      assertEquals(other.commands, whole.commands, `${name}, reuse ${reuse}`);
      assertEquals(other.parser.buffered, whole.parser.buffered, name);
    }
  }
  return whole.commands;
}

function echo(text: string | Uint8Array): TextCommand {
  return { type: "echo", body: bytes(text) };
}

function relay(ids: bigint[], body: string | Uint8Array): TextCommand {
  return { type: "relay", ids, body: bytes(body) };
}

function assertOneError(commands: TextCommand[], pattern: RegExp): void {
  assertEquals(commands.length, 1, JSON.stringify(commands));
  const [command] = commands;
  if (command?.type !== "error") throw new Error(`Expected an error command`);
  assert(pattern.test(command.message), command.message);
}

// --- Commands --------------------------------------------------------------

Deno.test("bare commands, in any case", () => {
  for (const word of ["identity", "list", "help", "quit"] as const) {
    for (
      const spelled of [
        word,
        word.toUpperCase(),
        word[0]!.toUpperCase() + word.slice(1),
      ]
    ) {
      assertEquals(parseAll(`${spelled}\n`), [{ type: word }], spelled);
      assertEquals(parseAll(`${spelled}\r\n`), [{ type: word }], spelled);
      // Trailing blanks are still a bare command.
      assertEquals(parseAll(`${spelled}  \n`), [{ type: word }], spelled);
    }
  }
  assertEquals(parseAll("LiSt\nIdEnTiTy\n"), [{ type: "list" }, {
    type: "identity",
  }]);
});

Deno.test("bare commands given arguments answer a usage error", () => {
  for (const word of ["identity", "list", "help", "quit"]) {
    assertOneError(parseAll(`${word} now\n`), /usage/);
  }
});

Deno.test("echo keeps its body byte for byte, case included", () => {
  assertEquals(parseAll("echo hello world\n"), [echo("hello world")]);
  assertEquals(parseAll("ECHO Hello World\r\n"), [echo("Hello World")]);
  assertEquals(parseAll("echo\n"), [echo("")]);
  assertEquals(parseAll("echo \n"), [echo("")]);
  assertEquals(parseAll("echo  two spaces\n"), [echo(" two spaces")]);
  // Only the one `\r` before the `\n` is a line end.
  assertEquals(parseAll("echo a\r\r\n"), [echo("a\r")]);
  assertEquals(parseAll("echo a\rb\n"), [echo("a\rb")]);
  const binary = new Uint8Array(256);
  for (let i = 0; i < 256; i++) binary[i] = i === LF ? 0 : i;
  assertEquals(parseAll(concat("echo ", binary, "\n")), [echo(binary)]);
});

Deno.test("auth takes the rest of the line as its token", () => {
  assertEquals(parseAll("auth s3cret\n"), [{
    type: "auth",
    token: bytes("s3cret"),
  }]);
  assertEquals(parseAll("AUTH a b\r\n"), [{
    type: "auth",
    token: bytes("a b"),
  }]);
  assertOneError(parseAll("auth\n"), /usage: auth/);
  assertOneError(parseAll("auth   \n"), /usage: auth/);
});

Deno.test("unknown commands answer an error and parsing goes on", () => {
  const commands = parseAll("frobnicate 1 2\nlist\n");
  assertEquals(commands.length, 2);
  assertEquals(commands[0]?.type, "error");
  assertEquals(commands[1], { type: "list" });
  assertOneError(parseAll(concat(filled(500, 0x7a), "\n")), /unknown command/);
  assertOneError(
    parseAll(concat(new Uint8Array([0xff, 0xfe]), "\n")),
    /unknown/,
  );
});

Deno.test("empty lines outside a relay are ignored", () => {
  assertEquals(parseAll("\n\r\n\nlist\n\n\r\nhelp\n"), [{ type: "list" }, {
    type: "help",
  }]);
  assertEquals(parseAll("\n\n\n"), []);
});

Deno.test("a line without its end yet is held, not parsed", () => {
  const { commands, parser } = run([bytes("identity")]);
  assertEquals(commands, []);
  assertEquals(parser.buffered, 8);
  parser.parse(bytes("\r"));
  assertEquals(commands, []);
  parser.parse(bytes("\nlis"));
  assertEquals(commands, [{ type: "identity" }]);
  assertEquals(parser.buffered, 3);
});

Deno.test("TEXT_HELP names every command", () => {
  for (
    const word of ["identity", "list", "echo", "relay", "auth", "help", "quit"]
  ) {
    assert(TEXT_HELP.includes(word), word);
  }
  assert(!TEXT_HELP.includes("\n"));
});

// --- Relays ------------------------------------------------------------------

Deno.test("single-line relay", () => {
  assertEquals(parseAll("relay 2,3 foo bar\n"), [relay([2n, 3n], "foo bar")]);
  assertEquals(parseAll("RELAY 7 x\r\n"), [relay([7n], "x")]);
  assertEquals(parseAll("relay 2,3\n"), [relay([2n, 3n], "")]);
  assertEquals(parseAll("relay 2,3 \n"), [relay([2n, 3n], "")]);
  assertEquals(parseAll("relay 2  two\n"), [relay([2n], " two")]);
  assertEquals(parseAll(`relay ${MAX_ID} max\n`), [relay([MAX_ID], "max")]);
  const binary = new Uint8Array([0, 1, 2, 0xff, 0xfe, CR, 0x20, 9]);
  assertEquals(parseAll(concat("relay 1 ", binary, "\n")), [
    relay([1n], binary),
  ]);
});

Deno.test("single-line relay with bad ids answers an error and goes on", () => {
  for (
    const ids of [
      "x",
      "2,,3",
      "2,",
      ",2",
      "-1",
      "2;3",
      "1e3",
      "0x10",
      String(MAX_ID + 1n),
    ]
  ) {
    const commands = parseAll(`relay ${ids} body\nlist\n`);
    assertEquals(commands.length, 2, ids);
    assertEquals(commands[0]?.type, "error", ids);
    assertEquals(commands[1], { type: "list" });
  }
  // A space ends the ids: "2, 3" is ids "2," and a body.
  assertOneError(parseAll("relay 2, 3 body\n"), /bad ids/);
});

Deno.test("multi-line relay: lines up to the empty line, joined with \\n", () => {
  assertEquals(parseAll("relay\n2,3\nfoo bar\numad?\n\n"), [
    relay([2n, 3n], "foo bar\numad?"),
  ]);
  assertEquals(parseAll("RELAY\r\n2,3\r\nfoo\r\nbar\r\n\r\n"), [
    relay([2n, 3n], "foo\nbar"),
  ]);
  assertEquals(parseAll("relay  \n9\nx\n\n"), [relay([9n], "x")]);
  // No body lines at all: an empty body.
  assertEquals(parseAll("relay\n4\n\n"), [relay([4n], "")]);
  // Every line is body, commands too; parsing resumes after the empty line.
  assertEquals(parseAll("relay\n5\nquit\nidentity\nrelay 1 x\n\nlist\n"), [
    relay([5n], "quit\nidentity\nrelay 1 x"),
    { type: "list" },
  ]);
  // Bodies keep binary bytes and inner `\r`s.
  const binary = new Uint8Array([0, 0xff, CR, 0x80, 0x20]);
  assertEquals(parseAll(concat("relay\n1\n", binary, "\n", binary, "\r\n\n")), [
    relay([1n], concat(binary, "\n", binary)),
  ]);
});

Deno.test("multi-line relay: a bad ids line ends it with an error", () => {
  const commands = parseAll("relay\n2,x\nidentity\n\nlist\n");
  assertEquals(commands.length, 3);
  assertEquals(commands[0]?.type, "error");
  assertEquals(commands[1], { type: "identity" });
  assertEquals(commands[2], { type: "list" });
  // An empty ids line is bad ids too.
  assertOneError(parseAll("relay\n\n"), /bad ids/);
  assertOneError(parseAll("relay\n2,3 extra\n"), /bad ids/);
});

Deno.test("an unfinished multi-line relay is held until its empty line", () => {
  const { commands, parser } = run([bytes("relay\n2\nabc\nde")]);
  assertEquals(commands, []);
  assertEquals(parser.buffered, 3 + 2);
  parser.parse(bytes("\n\n"));
  assertEquals(commands, [relay([2n], "abc\nde")]);
  assertEquals(parser.buffered, 0);
});

Deno.test("single-line relay bodies: exactly 1 MiB passes, one more is an error", () => {
  const ok = parseAll(concat("relay 2 ", filled(MAX_BODY), "\n"));
  assertEquals(ok.length, 1);
  assertEquals(ok[0]?.type, "relay");
  if (ok[0]?.type === "relay") assertEquals(ok[0].body.length, MAX_BODY);

  const commands = parseAll(
    concat("relay 2 ", filled(MAX_BODY + 1), "\nlist\n"),
  );
  assertEquals(commands.length, 2);
  assertOneError(commands.slice(0, 1), /body too large/);
  assertEquals(commands[1], { type: "list" }, "the error is not fatal");
});

Deno.test("multi-line relay bodies: exactly 1 MiB passes, one more is an error", () => {
  // Two lines joined by one `\n`: (MAX_BODY - 2) + 1 + 1 bytes.
  const exact = parseAll(concat("relay\n3\n", filled(MAX_BODY - 2), "\nb\n\n"));
  assertEquals(exact.length, 1);
  const got = exact[0];
  if (got?.type !== "relay") throw new Error("Expected a relay");
  assertEquals(got.body.length, MAX_BODY);
  assertEquals(got.body[MAX_BODY - 2], LF);
  assertEquals(got.body[MAX_BODY - 1], 0x62);

  const over = parseAll(
    concat("relay\n3\n", filled(MAX_BODY - 1), "\nb\n\nlist\n"),
  );
  assertEquals(over.length, 2);
  assertOneError(over.slice(0, 1), /body too large/);
  assertEquals(over[1], { type: "list" });

  // Many lines, far over the limit: still one error, then business as usual.
  const line = concat(filled(MAX_LINE - 10), "\n");
  const many = parseAll(concat("relay\n3\n", line, line, line, "\nhelp\n"));
  assertEquals(many.length, 2);
  assertOneError(many.slice(0, 1), /body too large/);
  assertEquals(many[1], { type: "help" });
});

Deno.test("echo bodies over 1 MiB are an error, as in the binary dialect", () => {
  const ok = parseAll(concat("echo ", filled(MAX_BODY), "\n"));
  assertEquals(ok, [echo(filled(MAX_BODY))]);
  const commands = parseAll(concat("echo ", filled(MAX_BODY + 1), "\nlist\n"));
  assertEquals(commands.length, 2);
  assertOneError(commands.slice(0, 1), /body too large/);
  assertEquals(commands[1], { type: "list" });
});

// --- Line length ----------------------------------------------------------------

function assertLineTooLong(fn: () => void): void {
  const error = assertThrows(fn, FrameTooLargeError);
  assert(error instanceof ProtocolError);
  assertEquals(error.code, 2);
}

Deno.test("a line of exactly MAX_LINE bytes is accepted, with or without \\r", () => {
  const line = concat("echo ", filled(MAX_LINE - 5));
  for (const end of ["\n", "\r\n"]) {
    const { commands, parser } = run(mixed(concat(line, end, "list\n")));
    assertEquals(commands.length, 2);
    assertEquals(commands[0]?.type, "error", "an oversized echo body");
    assertEquals(commands[1], { type: "list" });
    assertEquals(parser.buffered, 0);
  }
});

Deno.test("a line longer than MAX_LINE throws FrameTooLargeError", () => {
  const long = concat("echo ", filled(MAX_LINE - 4));
  assertEquals(long.length, MAX_LINE + 1);
  // Whole, with its line end in the same chunk.
  assertLineTooLong(() => run([concat(long, "\n")]));
  // The `\r` slack does not let a non-`\r` byte through.
  const held = run([long]);
  assertLineTooLong(() => held.parser.parse(bytes("\n")));
  // In relay body lines too.
  assertLineTooLong(() => run([concat("relay\n2\n", long, "\n")]));
});

Deno.test("a long line throws before much more than MAX_LINE is buffered", () => {
  for (const size of [1, 7, 4096, 65_536]) {
    const parser = new TextParser(() => {});
    const chunk = filled(size);
    let fed = 0;
    // Up to MAX_LINE + 1 bytes are held: the last may be a `\r`.
    while (fed + size <= MAX_LINE + 1) {
      if (size === 1 && fed < MAX_LINE - 4) {
        // Byte at a time for the whole megabyte is slow; jump near the limit.
        parser.parse(filled(MAX_LINE - 4));
        fed = MAX_LINE - 4;
        continue;
      }
      parser.parse(chunk);
      fed += size;
      assert(parser.buffered <= MAX_LINE + 1);
    }
    assertLineTooLong(() => parser.parse(chunk));
    assert(fed <= MAX_LINE + 1, `${fed} bytes were taken`);
  }
});

Deno.test("a long line in a multi-line relay body throws as well", () => {
  const parser = new TextParser(() => {});
  parser.parse(bytes("relay\n2\nfirst line\n"));
  parser.parse(filled(MAX_LINE));
  parser.parse(bytes("\r"));
  assertLineTooLong(() => parser.parse(bytes("x")));
  assert(parser.buffered <= MAX_LINE + 1 + 10);
});

Deno.test("lines split into many chunks are joined exactly", () => {
  const body = new Uint8Array(10_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 1) % 256 || 1;
  for (let i = 0; i < body.length; i++) if (body[i] === LF) body[i] = 0x20;
  const input = concat("relay 9 ", body, "\r\n");
  for (const size of [1, 2, 5, 999]) {
    const { commands } = run(cut(input, size));
    assertEquals(commands, [relay([9n], body)]);
  }
});

// --- parseIds -----------------------------------------------------------------

Deno.test("parseIds: valid lists", () => {
  assertEquals(parseIds(bytes("1")), [1n]);
  assertEquals(parseIds(bytes("2,3")), [2n, 3n]);
  assertEquals(parseIds(bytes("007")), [7n]);
  assertEquals(parseIds(bytes("0")), [0n]);
  assertEquals(
    parseIds(bytes("3,3")),
    [3n, 3n],
    "de-duplicating is the hub's job",
  );
  assertEquals(parseIds(bytes("18446744073709551615")), [MAX_ID]);
  const many = Array.from({ length: MAX_RECEIVERS }, (_, i) => BigInt(i + 1));
  assertEquals(parseIds(bytes(many.join(","))), many);
});

Deno.test("parseIds: errors are messages", () => {
  const bad = [
    "",
    " ",
    "2, 3",
    " 2",
    "2 ",
    "2,",
    ",2",
    "2,,3",
    "-1",
    "+1",
    "1.5",
    "0x10",
    "abc",
    "١",
    "18446744073709551616",
    "99999999999999999999",
    "123456789012345678901",
  ];
  for (const text of bad) {
    const result = parseIds(bytes(text));
    assertEquals(typeof result, "string", JSON.stringify(text));
    assert((result as string).startsWith("bad ids"), result as string);
  }
  const tooMany = Array.from({ length: MAX_RECEIVERS + 1 }, (_, i) => i + 1);
  const result = parseIds(bytes(tooMany.join(",")));
  assertEquals(typeof result, "string");
  assert((result as string).includes("256"), result as string);
  assertEquals(typeof parseIds(new Uint8Array([0x31, 0xff])), "string");
  // Error messages stay short whatever the input.
  const long = parseIds(filled(100_000, 0x78));
  assert((long as string).length < 200);
});

// --- Formatting ------------------------------------------------------------------

Deno.test("formatList and formatRelayed", () => {
  assertEquals(formatList([]), "list");
  assertEquals(formatList([2, 3]), "list 2,3");
  assertEquals(formatList([2n, MAX_ID]), `list 2,${MAX_ID}`);
  assertEquals(formatList(new BigUint64Array([5n, 6n])), "list 5,6");
  assertEquals(formatList(new Float64Array([1, 2])), "list 1,2");
  assertEquals(formatRelayed(2, []), "relayed 2");
  assertEquals(formatRelayed(1, [3n]), "relayed 1 unknown 3");
  assertEquals(formatRelayed(0, [3, 4n]), "relayed 0 unknown 3,4");
  assertEquals(formatRelayed(0, [MAX_ID]), `relayed 0 unknown ${MAX_ID}`);
});

Deno.test("encodeTextDeliver delimits the body by its length", () => {
  assertEquals(
    encodeTextDeliver(1n, bytes("foo bar")),
    bytes("message 1 7\nfoo bar\n"),
  );
  assertEquals(
    encodeTextDeliver(42, new Uint8Array(0)),
    bytes("message 42 0\n\n"),
  );
  const body = new Uint8Array([LF, 0, 0xff, LF]);
  assertEquals(
    encodeTextDeliver(MAX_ID, body),
    concat(`message ${MAX_ID} 4\n`, body, "\n"),
  );
});

// --- Everything at once ---------------------------------------------------------

Deno.test("a session's worth of input gives the same commands however cut", () => {
  const input = concat(
    "identity\r\n",
    "\n",
    "LIST\n",
    "echo hi there\n",
    "relay 2,3 one line\n",
    "relay\r\n",
    "4,5\r\n",
    "line one\r\n",
    "quit\n",
    "\r\n",
    "bogus\n",
    "relay nope body\n",
    "relay\n",
    "bad ids\n",
    "auth t\n",
    "help\n",
    "quit\n",
  );
  const commands = parseAll(input);
  assertEquals(commands.map((c) => c.type), [
    "identity",
    "list",
    "echo",
    "relay",
    "relay",
    "error",
    "error",
    "error",
    "auth",
    "help",
    "quit",
  ]);
  assertEquals(commands[4], relay([4n, 5n], "line one\nquit"));
});

Deno.test("expecting tells what the next line is, for a terminal's prompt", () => {
  const parser = new TextParser(() => {});
  const stages: string[] = [parser.expecting];
  for (const line of ["relay", "2,3", "body", "", "relay", "x,y", "list"]) {
    parser.parse(new TextEncoder().encode(`${line}\n`));
    stages.push(parser.expecting);
  }
  assertEquals(stages, [
    "command",
    "relay-ids",
    "relay-body",
    "relay-body",
    "command",
    "relay-ids",
    "command",
    "command",
  ]);
});

Deno.test("a line that grows past the limit in its last chunk is 'line too long', not a crash", () => {
  const parser = new TextParser(() => {});
  parser.parse(new Uint8Array(MAX_LINE).fill(0x61));
  assertThrows(
    () => parser.parse(new TextEncoder().encode("aaaaaaaaaa\n")),
    FrameTooLargeError,
  );
});

Deno.test("a multi-line relay of many short lines costs about its bytes", () => {
  const bodies: Uint8Array[] = [];
  const parser = new TextParser((command) => {
    if (command.type === "relay") bodies.push(command.body);
  });
  parser.parse(new TextEncoder().encode("relay\n1\n"));
  const lines = new TextEncoder().encode("a\n".repeat(200_000));
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < lines.length; i += 4096) {
    parser.parse(lines.subarray(i, i + 4096));
  }
  // One object per line would be tens of MB; one buffer is well under one.
  assertLess(Deno.memoryUsage().heapUsed - before, 8 * 1024 * 1024);
  assertEquals(parser.buffered, 2 * 200_000 - 1);
  parser.parse(new TextEncoder().encode("\n"));
  assertEquals(bodies[0]!.length, 2 * 200_000 - 1);
  assertEquals(bodies[0]!.subarray(0, 4), new TextEncoder().encode("a\na\n"));
});
