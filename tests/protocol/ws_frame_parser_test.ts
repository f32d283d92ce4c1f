import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "../_assert.ts";
import {
  encodeWsClose,
  encodeWsFrame,
  MAX_WS_MESSAGE,
  WsCloseCode,
  WsFrameParser,
  type WsFrameParserOptions,
  WsInvalidUtf8Error,
  WsMessageTooLargeError,
  WsOpcode,
  WsProtocolError,
} from "../../protocol/mod.ts";
import {
  bytesOf,
  concat,
  encodeFrames,
  expectedEvents,
  type FrameSpec,
  hex,
  Recorder,
  type WsEvent,
} from "./_ws_helpers.ts";

const utf8 = new TextEncoder();
const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

interface Fixture {
  name: string;
  frames: FrameSpec[];
  /** Server-role input (masked), unless the fixture is for a client. */
  bytes: Uint8Array;
  events: WsEvent[];
  options: WsFrameParserOptions;
}

function fixture(
  name: string,
  frames: FrameSpec[],
  role: "server" | "client" = "server",
): Fixture {
  return {
    name,
    frames,
    bytes: encodeFrames(frames, role === "server"),
    events: expectedEvents(frames),
    options: { role },
  };
}

const T = WsOpcode.Text;
const B = WsOpcode.Binary;
const C = WsOpcode.Continuation;

const MUSIC = utf8.encode("é€𝄞"); // 2, 3 and 4-byte characters

function textCutEverywhere(): FrameSpec[] {
  // One fragment per byte: every character is cut at every inner offset.
  return Array.from(MUSIC, (b, i) => ({
    opcode: i === 0 ? T : C,
    payload: new Uint8Array([b]),
    fin: i === MUSIC.length - 1,
  }));
}

const FIXTURES: Fixture[] = [
  fixture("text hello", [{ opcode: T, payload: utf8.encode("hello") }]),
  fixture("empty text", [{ opcode: T, payload: new Uint8Array(0) }]),
  fixture("empty binary", [{ opcode: B, payload: new Uint8Array(0) }]),
  fixture("binary 125", [{ opcode: B, payload: bytesOf(125) }]),
  fixture("binary 126", [{ opcode: B, payload: bytesOf(126) }]),
  fixture("binary 300, key 0", [{
    opcode: B,
    payload: bytesOf(300),
    mask: new Uint8Array(4),
  }]),
  fixture("binary 65535, key ff", [{
    opcode: B,
    payload: bytesOf(65535, 2),
    mask: new Uint8Array([255, 255, 255, 255]),
  }]),
  fixture("binary 65536", [{ opcode: B, payload: bytesOf(65536, 3) }]),
  fixture("fragmented text with a ping between", [
    { opcode: T, payload: utf8.encode("hel"), fin: false },
    { opcode: WsOpcode.Ping, payload: utf8.encode("are you there") },
    { opcode: C, payload: utf8.encode("lo\n") },
  ]),
  fixture("fragmented binary with empty fragments", [
    { opcode: B, payload: new Uint8Array(0), fin: false },
    { opcode: C, payload: bytesOf(7), fin: false },
    { opcode: C, payload: new Uint8Array(0), fin: false },
    { opcode: WsOpcode.Pong, payload: new Uint8Array(0) },
    { opcode: C, payload: bytesOf(3, 9) },
  ]),
  fixture("text cut inside every character", textCutEverywhere()),
  fixture("text of every character width", [{ opcode: T, payload: MUSIC }]),
  fixture("binary that is not UTF-8", [{
    opcode: B,
    payload: hex("ff fe c0 80 ed a0 80"),
  }]),
  fixture("ping of 125 bytes", [{
    opcode: WsOpcode.Ping,
    payload: bytesOf(125),
  }]),
  fixture("text, binary, text", [
    { opcode: T, payload: utf8.encode("a") },
    { opcode: B, payload: bytesOf(2) },
    { opcode: T, payload: utf8.encode("b"), fin: false },
    { opcode: C, payload: utf8.encode("c") },
  ]),
  fixture("close with code and reason", [{
    opcode: WsOpcode.Close,
    payload: concat([hex("03 e8"), utf8.encode("bye ✓")]),
  }]),
  fixture("close with no payload", [{
    opcode: WsOpcode.Close,
    payload: new Uint8Array(0),
  }]),
  fixture("close 4999, the highest private code", [{
    opcode: WsOpcode.Close,
    payload: hex("13 87"),
  }]),
  fixture("close 1013 with a reason of 123 bytes", [{
    opcode: WsOpcode.Close,
    payload: concat([hex("03 f5"), utf8.encode("x".repeat(123))]),
  }]),
  fixture("client reads server frames", [
    { opcode: T, payload: utf8.encode("identity 1\n") },
    { opcode: B, payload: bytesOf(70_000), fin: false },
    { opcode: C, payload: bytesOf(10) },
    { opcode: WsOpcode.Ping, payload: new Uint8Array(0) },
  ], "client"),
];

function run(f: Fixture, chunks: readonly Uint8Array[]): Recorder {
  const r = new Recorder(f.options);
  for (const chunk of chunks) r.feed(chunk);
  return r;
}

function assertFixture(f: Fixture, chunks: readonly Uint8Array[], label = "") {
  const r = run(f, chunks);
  assertEquals(r.events, f.events, `${f.name} ${label}`);
  assertEquals(r.parser.buffered, 0, f.name);
  assertEquals(r.parser.inMessage, false, f.name);
}

// --- RFC 6455 section 5.7 examples, byte for byte ------------------------

Deno.test("RFC 6455 5.7: single-frame unmasked text, read by a client", () => {
  const bytes = hex("81 05 48 65 6c 6c 6f");
  assertEquals(encodeWsFrame(T, utf8.encode("Hello")), bytes);
  const r = new Recorder({ role: "client" });
  r.feed(bytes);
  assertEquals(r.events, [
    { type: "data", text: true, bytes: utf8.encode("Hello") },
    { type: "end", text: true },
  ]);
});

Deno.test("RFC 6455 5.7: single-frame masked text, read by a server", () => {
  const bytes = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
  assertEquals(encodeWsFrame(T, utf8.encode("Hello"), { mask: KEY }), bytes);
  const r = new Recorder();
  r.feed(bytes);
  assertEquals(
    r.events,
    expectedEvents([{
      opcode: T,
      payload: utf8.encode("Hello"),
    }]),
  );
});

Deno.test("RFC 6455 5.7: fragmented unmasked text and the ping, pong, lengths", () => {
  const r = new Recorder({ role: "client" });
  r.feed(hex("01 03 48 65 6c 80 02 6c 6f"));
  r.feed(hex("89 05 48 65 6c 6c 6f"));
  assertEquals(r.events, [
    { type: "data", text: true, bytes: utf8.encode("Hello") },
    { type: "end", text: true },
    { type: "ping", bytes: utf8.encode("Hello") },
  ]);
  const s = new Recorder();
  s.feed(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"));
  assertEquals(s.events, [{ type: "pong", bytes: utf8.encode("Hello") }]);
  assertEquals(
    encodeWsFrame(B, new Uint8Array(256)).subarray(0, 4),
    hex("82 7e 01 00"),
  );
  assertEquals(
    encodeWsFrame(B, new Uint8Array(65536)).subarray(0, 10),
    hex("82 7f 00 00 00 00 00 01 00 00"),
  );
});

Deno.test("a length in a longer form than needed is accepted", () => {
  // RFC 6455 asks senders for the shortest form; reading a longer one is
  // harmless and some hand-written clients send it.
  const payload = utf8.encode("hi");
  const masked = new Uint8Array([0x68 ^ 1, 0x69 ^ 2]);
  for (
    const head of [
      hex("82 fe 00 02 01 02 03 04"),
      hex("82 ff 00 00 00 00 00 00 00 02 01 02 03 04"),
    ]
  ) {
    const r = new Recorder();
    r.feed(concat([head, masked]));
    assertEquals(r.events, [
      { type: "data", text: false, bytes: payload },
      { type: "end", text: false },
    ]);
  }
});

// --- Every way of cutting the fixtures -----------------------------------

Deno.test("every fixture fed whole: data handed out as views, no copy", () => {
  for (const f of FIXTURES) {
    const r = run(f, [f.bytes]);
    assertEquals(r.events, f.events, f.name);
    // A whole frame's payload arrives in one piece.
    const frames = f.frames.filter((s) => s.opcode <= 2 && s.payload.length);
    assertEquals(r.dataCalls, frames.length, f.name);
  }
});

Deno.test("every fixture fed one byte at a time", () => {
  for (const f of FIXTURES) {
    if (f.bytes.length > 5000) continue;
    assertFixture(f, Array.from(f.bytes, (b) => new Uint8Array([b])));
  }
});

Deno.test("every fixture split in two at every offset", () => {
  for (const f of FIXTURES) {
    const cuts = f.bytes.length > 5000
      ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, f.bytes.length - 1]
      : Array.from({ length: f.bytes.length + 1 }, (_, i) => i);
    for (const cut of cuts) {
      assertFixture(
        f,
        [f.bytes.subarray(0, cut), f.bytes.subarray(cut)],
        `cut at ${cut}`,
      );
    }
  }
});

Deno.test("every small fixture split in three at every pair of offsets", () => {
  for (const f of FIXTURES) {
    if (f.bytes.length > 80) continue;
    for (let a = 0; a <= f.bytes.length; a++) {
      for (let b = a; b <= f.bytes.length; b++) {
        assertFixture(f, [
          f.bytes.subarray(0, a),
          f.bytes.subarray(a, b),
          f.bytes.subarray(b),
        ], `cut at ${a}, ${b}`);
      }
    }
  }
});

Deno.test("all server fixtures in one stream, split at every offset and in every chunk size", () => {
  const open = FIXTURES.filter((f) =>
    f.options.role === "server" && f.frames.every((s) => s.opcode !== 8) &&
    f.bytes.length < 1000
  );
  const frames = [
    ...open.flatMap((f) => f.frames),
    { opcode: WsOpcode.Close, payload: hex("03 e9") },
  ];
  const f = fixture("stream", frames);
  for (let cut = 0; cut <= f.bytes.length; cut++) {
    assertFixture(f, [f.bytes.subarray(0, cut), f.bytes.subarray(cut)]);
  }
  for (let size = 1; size <= 40; size++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < f.bytes.length; i += size) {
      chunks.push(f.bytes.subarray(i, i + size));
    }
    assertFixture(f, chunks, `size ${size}`);
  }
});

Deno.test("empty chunks are harmless anywhere", () => {
  const f = FIXTURES[8]!;
  const empty = new Uint8Array(0);
  for (let cut = 0; cut <= f.bytes.length; cut++) {
    assertFixture(f, [
      empty,
      f.bytes.subarray(0, cut),
      empty,
      f.bytes.subarray(cut),
      empty,
    ]);
  }
});

Deno.test("payloads are unmasked in place and reread from a reused read buffer", () => {
  const frames: FrameSpec[] = [
    { opcode: B, payload: bytesOf(1000, 4), fin: false },
    { opcode: C, payload: bytesOf(333, 5) },
  ];
  const bytes = encodeFrames(frames);
  const scratch = new Uint8Array(bytes.length);
  const got: Uint8Array[] = [];
  const parser = new WsFrameParser({
    onData: (payload) => {
      assertStrictEquals(payload.buffer, scratch.buffer);
      got.push(payload.slice());
    },
    onEnd: () => {},
    onPing: () => {},
    onPong: () => {},
    onClose: () => {},
  });
  for (let i = 0; i < bytes.length; i += 97) {
    const piece = bytes.subarray(i, i + 97);
    scratch.set(piece);
    parser.parse(scratch.subarray(0, piece.length));
    scratch.fill(0xee);
  }
  assertEquals(concat(got), concat(frames.map((f) => f.payload)));
});

Deno.test("a message at exactly the size limit passes, across fragments", () => {
  const half = MAX_WS_MESSAGE / 2;
  const frames: FrameSpec[] = [
    { opcode: B, payload: bytesOf(half), fin: false },
    { opcode: C, payload: bytesOf(half, 2) },
    { opcode: T, payload: new Uint8Array(MAX_WS_MESSAGE).fill(0x61) },
  ];
  const f = fixture("largest", frames);
  assertFixture(f, [f.bytes]);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < f.bytes.length; i += 65_536) {
    chunks.push(f.bytes.subarray(i, i + 65_536));
  }
  assertFixture(f, chunks, "in 64 KiB reads");
});

Deno.test("a close ends parsing: later bytes are ignored", () => {
  const r = new Recorder();
  r.feed(concat([
    encodeWsClose(1000, "", { mask: KEY }),
    hex("ff ff ff ff"), // garbage after the close
  ]));
  r.feed(hex("00 00"));
  assert(r.parser.closed);
  assertEquals(r.events, [{ type: "close", code: 1000, reason: "" }]);
});

Deno.test("maxMessage option: a client reading a hub allows more", () => {
  const payload = bytesOf(MAX_WS_MESSAGE + 1);
  const frame = encodeWsFrame(B, payload);
  const r = new Recorder({ role: "client", maxMessage: 16 * 1024 * 1024 });
  r.feed(frame);
  assertEquals(r.events.length, 2);
  const tight = new Recorder({ role: "client" });
  assertThrows(() => tight.feed(frame), WsMessageTooLargeError);
});

// --- Malformed input -------------------------------------------------------

type ErrorClass =
  | typeof WsProtocolError
  | typeof WsInvalidUtf8Error
  | typeof WsMessageTooLargeError;

interface BadCase {
  name: string;
  /** Valid frames before the offending one. */
  prefix: Uint8Array;
  bytes: Uint8Array;
  error: ErrorClass;
  /** How many bytes of `bytes` the parser needs to see to throw. */
  at: number;
  options: WsFrameParserOptions;
}

/** A masked frame header with key 0, so payload bytes are sent as they are. */
function head(b0: number, length: number, masked = true): Uint8Array {
  const m = masked ? 0x80 : 0;
  const key = masked ? new Uint8Array(4) : new Uint8Array(0);
  if (length < 126) return concat([new Uint8Array([b0, m | length]), key]);
  if (length < 0x10000) {
    return concat([
      new Uint8Array([b0, m | 126, length >> 8, length & 0xff]),
      key,
    ]);
  }
  const out = new Uint8Array(10);
  out[0] = b0;
  out[1] = m | 127;
  new DataView(out.buffer).setBigUint64(2, BigInt(length));
  return concat([out, key]);
}

function raw(b0: number, payload: Uint8Array, masked = true): Uint8Array {
  return concat([head(b0, payload.length, masked), payload]);
}

function badCases(): BadCase[] {
  const cases: BadCase[] = [];
  const none = new Uint8Array(0);
  const add = (
    name: string,
    bytes: Uint8Array,
    error: ErrorClass,
    at: number,
    more: { prefix?: Uint8Array; options?: WsFrameParserOptions } = {},
  ) =>
    cases.push({
      name,
      prefix: more.prefix ?? none,
      bytes,
      error,
      at,
      options: more.options ?? {},
    });
  const P = WsProtocolError;
  const U = WsInvalidUtf8Error;
  const L = WsMessageTooLargeError;
  const open = raw(0x01, utf8.encode("ab")); // text, not final
  const openBinary = raw(0x02, bytesOf(3));

  add("unmasked text", raw(0x81, utf8.encode("hi"), false), P, 2);
  add("unmasked ping", raw(0x89, none, false), P, 2);
  add("unmasked close", raw(0x88, hex("03 e8"), false), P, 2);
  add("masked frame read by a client", raw(0x82, bytesOf(3)), P, 2, {
    options: { role: "client" },
  });
  for (const rsv of [0x40, 0x20, 0x10, 0x70]) {
    add(`RSV 0x${rsv.toString(16)} on text`, raw(0x81 | rsv, none), P, 2);
    add(`RSV 0x${rsv.toString(16)} on ping`, raw(0x89 | rsv, none), P, 2);
  }
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    add(`opcode 0x${op.toString(16)}`, raw(0x80 | op, none), P, 2);
    add(
      `opcode 0x${op.toString(16)} mid-message`,
      raw(0x80 | op, bytesOf(4)),
      P,
      2,
      { prefix: open },
    );
  }
  for (const op of [8, 9, 10]) {
    add(`fragmented control 0x${op.toString(16)}`, raw(op, none), P, 2);
    add(
      `control 0x${op.toString(16)} of 126 bytes`,
      head(0x80 | op, 126),
      P,
      2,
    );
    add(
      `control 0x${op.toString(16)} of a 64-bit length`,
      head(0x80 | op, 70_000),
      P,
      2,
    );
  }
  add("close of 1 byte", raw(0x88, hex("03")), P, 2);
  add("continuation without a message", raw(0x80, bytesOf(2)), P, 2);
  add("continuation after a finished message", raw(0x80, none), P, 2, {
    prefix: raw(0x81, utf8.encode("done")),
  });
  add("text while a text message is open", raw(0x81, none), P, 2, {
    prefix: open,
  });
  add("binary while a text message is open", raw(0x82, none), P, 2, {
    prefix: open,
  });
  add("text while a binary message is open", raw(0x01, none), P, 2, {
    prefix: openBinary,
  });
  add(
    "text after a ping inside an open message",
    raw(0x81, none),
    P,
    2,
    { prefix: concat([open, raw(0x89, utf8.encode("p"))]) },
  );

  // UTF-8, thrown at the offending byte, in one frame or across fragments.
  const text = (bytes: string) => raw(0x81, hex(bytes));
  add("text 0xff", text("41 ff 41"), U, 6 + 2);
  add("text overlong NUL", text("c0 80"), U, 6 + 1);
  add("text overlong slash, 3 bytes", text("e0 80 af"), U, 6 + 2);
  add("text surrogate", text("ed a0 80"), U, 6 + 2);
  add("text past U+10FFFF", text("f4 90 80 80"), U, 6 + 2);
  add("text lead 0xf5", text("f5 80 80 80"), U, 6 + 1);
  add("text stray continuation", text("61 80"), U, 6 + 2);
  add("text ends inside a character", text("e2 82"), U, 6 + 2);
  add("text missing continuation", text("e2 41 41"), U, 6 + 2);
  add(
    "bad UTF-8 split across fragments",
    raw(0x80, hex("41 41")),
    U,
    6 + 1,
    { prefix: raw(0x01, hex("e2 82")) },
  );
  add(
    "text message ending inside a character across fragments",
    raw(0x80, hex("84")),
    U,
    6 + 1,
    { prefix: raw(0x01, hex("f0 9d")) },
  );
  add(
    "empty final fragment ends inside a character",
    raw(0x80, none),
    U,
    6,
    { prefix: raw(0x01, hex("c3")) },
  );

  // Lengths.
  const hiBit = hex("82 ff 80 00 00 00 00 00 00 05 00 00 00 00");
  add("64-bit length with the high bit set", hiBit, P, 14);
  add(
    "64-bit length 2^63 - 1",
    hex("82 ff 7f ff ff ff ff ff ff ff 00 00 00 00"),
    L,
    14,
  );
  add("length 2^32", head(0x82, 2 ** 32), L, 14);
  add("length one over the limit", head(0x82, MAX_WS_MESSAGE + 1), L, 14);
  add(
    "text one over the limit, unfragmented",
    head(0x81, MAX_WS_MESSAGE + 1),
    L,
    14,
  );
  add(
    "fragments over a small limit",
    head(0x80, 41),
    L,
    6,
    {
      prefix: raw(0x02, bytesOf(60)),
      options: { maxMessage: 100 },
    },
  );
  add(
    "fragments over a small limit, 16-bit length",
    head(0x80, 200),
    L,
    8,
    { prefix: raw(0x01, utf8.encode("a")), options: { maxMessage: 200 } },
  );

  // Close frames.
  for (
    const code of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2999, 5000]
  ) {
    const payload = new Uint8Array([code >> 8, code & 0xff]);
    add(`close code ${code}`, raw(0x88, payload), P, 8);
  }
  add("close code 65535 with a reason", raw(0x88, hex("ff ff 61")), P, 9);
  add("close reason not UTF-8", raw(0x88, hex("03 e8 ff")), U, 9);
  add(
    "close reason cut inside a character",
    raw(0x88, hex("03 e8 e2 82")),
    U,
    10,
  );
  return cases;
}

const BAD_CASES = badCases();

function newParser(options: WsFrameParserOptions): {
  parser: WsFrameParser;
  events: string[];
} {
  const events: string[] = [];
  const parser = new WsFrameParser({
    onData: () => events.push("data"),
    onEnd: () => events.push("end"),
    onPing: () => events.push("ping"),
    onPong: () => events.push("pong"),
    onClose: () => events.push("close"),
  }, options);
  return { parser, events };
}

function expectError(c: BadCase, parse: () => void): void {
  let caught: unknown = undefined;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof WsProtocolError)) {
    throw new Error(`${c.name}: expected ${c.error.name}, got ${caught}`);
  }
  assertStrictEquals(caught.constructor, c.error, `${c.name}: ${caught}`);
  const code = c.error === WsInvalidUtf8Error
    ? WsCloseCode.InvalidData
    : c.error === WsMessageTooLargeError
    ? WsCloseCode.MessageTooBig
    : WsCloseCode.ProtocolError;
  assertEquals(caught.closeCode, code, c.name);
  assert(caught.message.startsWith("Cannot parse WebSocket"), caught.message);
}

Deno.test("malformed table: the cases cover every close code", () => {
  assert(BAD_CASES.length > 70);
  for (
    const error of [WsProtocolError, WsInvalidUtf8Error, WsMessageTooLargeError]
  ) {
    assert(BAD_CASES.some((c) => c.error === error), error.name);
  }
});

Deno.test("malformed table: fed whole, with whatever follows", () => {
  const tail = new Uint8Array(4096).fill(0x41);
  for (const c of BAD_CASES) {
    for (const after of [new Uint8Array(0), tail]) {
      const { parser } = newParser(c.options);
      const input = concat([c.prefix, c.bytes, after]);
      expectError(c, () => parser.parse(input));
    }
  }
});

Deno.test("malformed table: one byte at a time, thrown at the exact byte", () => {
  for (const c of BAD_CASES) {
    const { parser } = newParser(c.options);
    parser.parse(c.prefix.slice());
    const bytes = c.bytes.slice();
    for (let i = 0; i < c.at - 1; i++) {
      parser.parse(bytes.subarray(i, i + 1));
      assert(parser.buffered <= 14, `${c.name}: buffered ${parser.buffered}`);
    }
    expectError(c, () => parser.parse(bytes.subarray(c.at - 1, c.at)));
  }
});

Deno.test("malformed table: split at every offset, after valid frames", () => {
  const valid = encodeFrames([
    { opcode: WsOpcode.Ping, payload: bytesOf(3) },
    { opcode: B, payload: bytesOf(9) },
  ]);
  for (const c of BAD_CASES) {
    if (c.options.role === "client") continue;
    const stream = concat([valid, c.prefix, c.bytes]);
    const throwAt = valid.length + c.prefix.length + c.at;
    for (let cut = 0; cut < throwAt; cut++) {
      const { parser, events } = newParser(c.options);
      const copy = stream.slice();
      expectError(c, () => {
        parser.parse(copy.subarray(0, cut));
        parser.parse(copy.subarray(cut));
      });
      const runs = events.filter((e, i) => e !== "data" || events[i - 1] !== e);
      assertEquals(runs.slice(0, 3), ["ping", "data", "end"], c.name);
    }
  }
});

Deno.test("an announced length over the limit throws on the header, buffering nothing", () => {
  for (const c of BAD_CASES) {
    if (c.error !== WsMessageTooLargeError) continue;
    const { parser, events } = newParser(c.options);
    parser.parse(c.prefix.slice());
    const before = events.length;
    expectError(c, () => parser.parse(c.bytes.slice()));
    assertEquals(events.length, before, c.name);
    assertEquals(c.at, c.bytes.length, `${c.name}: the case is a header alone`);
  }
});

Deno.test("invalid UTF-8 is never handed out", () => {
  for (const c of BAD_CASES) {
    if (c.error !== WsInvalidUtf8Error || c.name.startsWith("close")) continue;
    const got: Uint8Array[] = [];
    const stream = concat([c.prefix, c.bytes]);
    for (let cut = 0; cut <= stream.length; cut++) {
      got.length = 0;
      const p = new WsFrameParser({
        onData: (payload) => got.push(payload.slice()),
        onEnd: () => {},
        onPing: () => {},
        onPong: () => {},
        onClose: () => {},
      }, c.options);
      const copy = stream.slice();
      assertThrows(() => {
        p.parse(copy.subarray(0, cut));
        p.parse(copy.subarray(cut));
      }, WsInvalidUtf8Error);
      // What was handed out is a prefix of valid UTF-8: it may end cut
      // inside a character, never with a byte that cannot continue.
      const decoder = new TextDecoder("utf-8", { fatal: true });
      decoder.decode(concat(got), { stream: true });
    }
  }
});

// --- Floods ------------------------------------------------------------------

Deno.test("a flood of tiny frames holds no more than one header", () => {
  // 10,000 one-byte fragments and empty fragments per read, 100 reads: two
  // million frames, under the message limit, cost nothing but time.
  const frames: FrameSpec[] = [];
  for (let i = 0; i < 10_000; i++) {
    frames.push({
      opcode: C,
      payload: i % 2 === 0 ? new Uint8Array([0x61]) : new Uint8Array(0),
      fin: false,
      mask: new Uint8Array([i & 0xff, 1, 2, 3]),
    });
  }
  const read = encodeFrames(frames);
  const scratch = new Uint8Array(read.length + 3);
  let data = 0;
  const parser = new WsFrameParser({
    onData: (payload) => data += payload.length,
    onEnd: () => {},
    onPing: () => {},
    onPong: () => {},
    onClose: () => {},
  });
  parser.parse(encodeWsFrame(T, utf8.encode("a"), { fin: false, mask: KEY }));
  let maxBuffered = 0;
  for (let round = 0; round < 100; round++) {
    // Reads that cut frames anywhere: the remainder carries over.
    const cut = (round * 7) % 13;
    scratch.set(read);
    parser.parse(scratch.subarray(0, read.length - cut));
    maxBuffered = Math.max(maxBuffered, parser.buffered);
    scratch.set(read.subarray(read.length - cut));
    parser.parse(scratch.subarray(0, cut));
    maxBuffered = Math.max(maxBuffered, parser.buffered);
  }
  assertEquals(data, 1 + 100 * 5_000);
  assert(parser.inMessage);
  assert(maxBuffered <= 14, `buffered ${maxBuffered}`);
});

Deno.test("a flood of tiny text fragments is checked and joined without buffering", () => {
  const r = new Recorder();
  const frames: FrameSpec[] = [];
  const text = "ü€".repeat(500);
  const bytes = utf8.encode(text);
  for (let i = 0; i < bytes.length; i++) {
    frames.push({
      opcode: i === 0 ? T : C,
      payload: bytes.subarray(i, i + 1),
      fin: i === bytes.length - 1,
    });
  }
  const stream = encodeFrames(frames);
  for (let i = 0; i < stream.length; i += 5) {
    r.feed(stream.subarray(i, i + 5));
    assert(r.parser.buffered <= 14);
  }
  assertEquals(r.events, [
    { type: "data", text: true, bytes },
    { type: "end", text: true },
  ]);
});
