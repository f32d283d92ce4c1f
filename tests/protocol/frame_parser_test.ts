import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "../_assert.ts";
import {
  encodeAuth,
  encodeDeliver,
  encodeEcho,
  encodeError,
  encodeFrame,
  encodeIdentityReply,
  encodeListReply,
  encodeReceipt,
  encodeRelay,
  FrameParser,
  FrameTooLargeError,
  HEADER_SIZE,
  isBinaryFirstByte,
  Kind,
  MalformedFrameError,
  MAX_BODY,
  MAX_ID,
  MAX_RECEIVERS,
  MAX_RELAY_PAYLOAD,
  MAX_TOKEN,
  ProtocolError,
  readU32,
  readU64,
  REPLY_LIMITS,
  REQUEST_LIMITS,
  writeHeader,
  writeU64,
} from "../../protocol/mod.ts";
import { concat } from "./_ws_helpers.ts";

const encoder = new TextEncoder();

/** One frame as the handler saw it, payload copied out. */
interface Got {
  kind: number;
  payload: Uint8Array;
  owned: boolean;
  /** The view itself, only to compare its buffer and offset afterwards. */
  view: Uint8Array;
}

interface Fixture {
  name: string;
  limits: Int32Array;
  frame: Uint8Array;
}

function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

function header(kind: number, length: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  writeHeader(out, 0, kind, length);
  return out;
}

function bytesOf(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

function ids(count: number, first = 1n): bigint[] {
  return Array.from({ length: count }, (_, i) => first + BigInt(i));
}

/**
 * The contract of `owned`: the payload lies at offset 5 of a buffer holding
 * this frame alone, whose first 5 bytes are the frame's header.
 */
function assertOwnedLayout(
  kind: number,
  payload: Uint8Array,
  owned: boolean,
): void {
  if (!owned) return;
  assertEquals(payload.byteOffset, HEADER_SIZE, "owned payload offset");
  assertEquals(
    payload.buffer.byteLength,
    HEADER_SIZE + payload.length,
    "owned buffer holds the frame alone",
  );
  const frame = new Uint8Array(
    payload.buffer,
    payload.byteOffset - HEADER_SIZE,
    HEADER_SIZE + payload.length,
  );
  assertEquals(frame.subarray(0, HEADER_SIZE), header(kind, payload.length));
}

function newParser(
  limits: Int32Array,
  got: Got[],
): FrameParser {
  return new FrameParser(limits, (kind, payload, owned) => {
    assertOwnedLayout(kind, payload, owned);
    got.push({ kind, payload: payload.slice(), owned, view: payload });
  });
}

/** Feeds `chunks` to a fresh parser; every frame must complete. */
function feed(limits: Int32Array, chunks: readonly Uint8Array[]): Got[] {
  const got: Got[] = [];
  const parser = newParser(limits, got);
  for (const chunk of chunks) {
    const before = chunk.slice();
    parser.parse(chunk);
    assertEquals(chunk, before, "the parser must not write into a chunk");
  }
  assertEquals(parser.buffered, 0);
  const again = feedReused(limits, chunks);
  assertEquals(
    again.map((g) => [g.kind, g.payload]),
    got.map((g) => [g.kind, g.payload]),
  );
  return got;
}

/**
 * Feeds `chunks` through one read buffer that is scribbled over after each
 * parse, as a socket read loop does: the parser must copy what it keeps, and
 * an owned payload must not be a view of the read buffer.
 */
function feedReused(limits: Int32Array, chunks: readonly Uint8Array[]): Got[] {
  const got: Got[] = [];
  const parser = newParser(limits, got);
  const scratch = new Uint8Array(Math.max(0, ...chunks.map((c) => c.length)));
  for (const chunk of chunks) {
    scratch.set(chunk);
    parser.parse(scratch.subarray(0, chunk.length));
    scratch.fill(0xee);
  }
  for (const g of got) {
    if (g.owned) assert(g.view.buffer !== scratch.buffer);
  }
  return got;
}

/** Splits a stream of whole frames into [kind, payload] pairs. */
function framesOf(stream: Uint8Array): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  let offset = 0;
  while (offset < stream.length) {
    const length = readU32(stream, offset + 1);
    out.push([
      stream[offset]!,
      stream.slice(offset + HEADER_SIZE, offset + HEADER_SIZE + length),
    ]);
    offset += HEADER_SIZE + length;
  }
  return out;
}

function assertFrames(got: readonly Got[], stream: Uint8Array): void {
  assertEquals(
    got.map((g): [number, Uint8Array] => [g.kind, g.payload]),
    framesOf(stream),
  );
}

/** A copy of `bytes` that lies at a nonzero offset of a larger buffer. */
function padded(bytes: Uint8Array): Uint8Array {
  const big = new Uint8Array(bytes.length + 7).fill(0xee);
  big.set(bytes, 3);
  return big.subarray(3, 3 + bytes.length);
}

const REQUEST_FIXTURES: Fixture[] = [
  { name: "ECHO hello", frame: encodeEcho(encoder.encode("hello")) },
  { name: "ECHO empty", frame: encodeEcho(new Uint8Array(0)) },
  { name: "ECHO one byte", frame: encodeEcho(new Uint8Array([0])) },
  { name: "ECHO all byte values", frame: encodeEcho(bytesOf(256)) },
  { name: "IDENTITY", frame: encodeFrame(Kind.Identity) },
  { name: "LIST", frame: encodeFrame(Kind.List) },
  {
    name: "RELAY to one, empty body",
    frame: encodeRelay([2n], new Uint8Array(0)),
  },
  {
    name: "RELAY foobar to 2,3",
    frame: encodeRelay([2n, 3n], encoder.encode("foobar")),
  },
  {
    name: "RELAY to 255 ids",
    frame: encodeRelay(ids(MAX_RECEIVERS), bytesOf(40)),
  },
  {
    name: "RELAY to id 2^64-1",
    frame: encodeRelay([MAX_ID, 0n], bytesOf(3)),
  },
  {
    name: "RELAY_RECEIPTED",
    frame: encodeRelay([5n, 6n, 7n], encoder.encode("receipt me"), true),
  },
  {
    name: "RELAY_RECEIPTED to one, empty body",
    frame: encodeRelay([9n], new Uint8Array(0), true),
  },
  { name: "PING", frame: encodeFrame(Kind.Ping) },
  { name: "PONG", frame: encodeFrame(Kind.Pong) },
  { name: "AUTH one byte", frame: encodeAuth(encoder.encode("x")) },
  { name: "AUTH largest token", frame: encodeAuth(bytesOf(MAX_TOKEN, 3)) },
].map((f) => ({ ...f, limits: REQUEST_LIMITS }));

const REPLY_FIXTURES: Fixture[] = [
  { name: "ECHO_REPLY", frame: encodeFrame(Kind.EchoReply, bytesOf(17)) },
  { name: "ECHO_REPLY empty", frame: encodeFrame(Kind.EchoReply) },
  { name: "IDENTITY_REPLY", frame: encodeIdentityReply(7n) },
  { name: "LIST_REPLY empty", frame: encodeListReply([]) },
  { name: "LIST_REPLY three", frame: encodeListReply([2n, 3, MAX_ID]) },
  { name: "DELIVER", frame: encodeDeliver(1n, encoder.encode("foobar")) },
  { name: "DELIVER empty body", frame: encodeDeliver(42, new Uint8Array(0)) },
  { name: "RELAY_RECEIPT none unknown", frame: encodeReceipt(2, []) },
  { name: "RELAY_RECEIPT two unknown", frame: encodeReceipt(1, [3n, 4]) },
  { name: "AUTH_OK", frame: encodeFrame(Kind.AuthOk) },
  { name: "hub PING", frame: encodeFrame(Kind.Ping) },
  { name: "PONG", frame: encodeFrame(Kind.Pong) },
  { name: "ERROR", frame: encodeError(2, "frame too large: ünïcode") },
].map((f) => ({ ...f, limits: REPLY_LIMITS }));

const FIXTURES = [...REQUEST_FIXTURES, ...REPLY_FIXTURES];

// --- Spec examples -------------------------------------------------------

Deno.test("spec example: IDENTITY and its reply for id 7, byte for byte", () => {
  const request = hex("02 00 00 00 00");
  const reply = hex("82 00 00 00 08 00 00 00 00 00 00 00 07");
  assertEquals(encodeFrame(Kind.Identity), request);
  assertEquals(encodeIdentityReply(7n), reply);
  assertEquals(encodeIdentityReply(7), reply);

  const got = feed(REQUEST_LIMITS, [request]);
  assertEquals(got.map((g) => [g.kind, g.payload]), [[
    Kind.Identity,
    new Uint8Array(0),
  ]]);
  const back = feed(REPLY_LIMITS, [reply]);
  assertEquals(back.length, 1);
  assertEquals(back[0]!.kind, Kind.IdentityReply);
  assertEquals(readU64(back[0]!.payload, 0), 7n);
});

Deno.test("spec example: relay foobar from 1 to 2,3, byte for byte", () => {
  const request = hex(
    "04 00 00 00 17 02 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 03 66 6f 6f 62 61 72",
  );
  const deliver = hex(
    "84 00 00 00 0e 00 00 00 00 00 00 00 01 66 6f 6f 62 61 72",
  );
  const body = encoder.encode("foobar");
  assertEquals(encodeRelay([2n, 3n], body), request);
  assertEquals(encodeDeliver(1n, body), deliver);
  assertEquals(encodeDeliver(1, body), deliver);

  const got = feed(REQUEST_LIMITS, [request]);
  assertEquals(got.length, 1);
  const payload = got[0]!.payload;
  assertEquals(got[0]!.kind, Kind.Relay);
  assertEquals(payload[0], 2);
  assertEquals(readU64(payload, 1), 2n);
  assertEquals(readU64(payload, 9), 3n);
  assertEquals(payload.subarray(17), body);

  const back = feed(REPLY_LIMITS, [deliver]);
  assertEquals(back[0]!.kind, Kind.Deliver);
  assertEquals(readU64(back[0]!.payload, 0), 1n);
  assertEquals(back[0]!.payload.subarray(8), body);
});

// --- Encoders used by the fixtures ----------------------------------------

Deno.test("encoders: headers, u64 round trips and argument checks", () => {
  assertEquals(header(0xab, 0x01020304), hex("ab 01 02 03 04"));
  assertEquals(header(1, 0xffff_ffff), hex("01 ff ff ff ff"));
  const u64 = new Uint8Array(8);
  for (
    const id of [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, MAX_ID, 123456789012345n]
  ) {
    writeU64(u64, 0, id);
    assertEquals(readU64(u64, 0), id);
  }
  writeU64(u64, 0, Number.MAX_SAFE_INTEGER);
  assertEquals(readU64(u64, 0), BigInt(Number.MAX_SAFE_INTEGER));
  writeU64(u64, 0, 0x1_0000_0001);
  assertEquals(u64, hex("00 00 00 01 00 00 00 01"));

  assertThrows(() => encodeRelay([], new Uint8Array(0)), RangeError);
  assertThrows(() => encodeRelay(ids(256), new Uint8Array(0)), RangeError);
  assertThrows(() => encodeRelay([MAX_ID + 1n], new Uint8Array(0)), RangeError);
  assertThrows(() => encodeRelay([-1n], new Uint8Array(0)), RangeError);
  assertThrows(
    () => encodeRelay([1n], new Uint8Array(MAX_BODY + 1)),
    RangeError,
  );
  assertThrows(() => encodeEcho(new Uint8Array(MAX_BODY + 1)), RangeError);
  assertThrows(() => encodeAuth(new Uint8Array(0)), RangeError);
  assertThrows(() => encodeAuth(new Uint8Array(MAX_TOKEN + 1)), RangeError);
  assertEquals(encodeEcho(new Uint8Array(MAX_BODY)).length, 5 + MAX_BODY);
  assertEquals(
    encodeRelay(ids(MAX_RECEIVERS), new Uint8Array(MAX_BODY)).length,
    HEADER_SIZE + MAX_RELAY_PAYLOAD,
  );

  assertEquals(
    encodeReceipt(1, [3n, 4]),
    hex(`85 00 00 00 12 01 02
    00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 04`),
  );
  assertEquals(encodeError(7, "no"), hex("ff 00 00 00 03 07 6e 6f"));
  assertEquals(encodeListReply([]), hex("83 00 00 00 00"));
});

Deno.test("isBinaryFirstByte follows the dialect table", () => {
  for (let byte = 0; byte < 256; byte++) {
    const binary = byte >= 1 && byte <= 0x1f && byte !== 0x09 &&
      byte !== 0x0a && byte !== 0x0d;
    assertEquals(isBinaryFirstByte(byte), binary, `byte ${byte}`);
  }
});

// --- Valid frames, every way of cutting them ------------------------------

Deno.test("every fixture fed whole: one frame, a view of the chunk", () => {
  for (const { name, limits, frame } of FIXTURES) {
    const chunk = padded(frame);
    const got = feed(limits, [chunk]);
    assertFrames(got, frame);
    const g = got[0]!;
    if (g.payload.length > 0) {
      assertEquals(g.owned, false, name);
      assertStrictEquals(g.view.buffer, chunk.buffer, name);
      assertEquals(g.view.byteOffset, chunk.byteOffset + HEADER_SIZE, name);
    }
  }
});

Deno.test("every fixture fed one byte at a time", () => {
  for (const { name, limits, frame } of FIXTURES) {
    const chunks = Array.from(frame, (byte) => new Uint8Array([byte]));
    const got = feed(limits, chunks);
    assertFrames(got, frame);
    if (frame.length > HEADER_SIZE + 1) assert(got[0]!.owned, name);
  }
});

Deno.test("every fixture split in two at every offset", () => {
  for (const { name, limits, frame } of FIXTURES) {
    for (let cut = 1; cut < frame.length; cut++) {
      const got = feed(limits, [
        padded(frame.subarray(0, cut)),
        padded(frame.subarray(cut)),
      ]);
      assertFrames(got, frame);
      // A payload that spans both chunks had to be copied.
      if (cut > HEADER_SIZE) {
        assertEquals(got[0]!.owned, true, `${name} cut at ${cut}`);
      }
    }
  }
});

Deno.test("every fixture split in three at every pair of offsets", () => {
  for (const { limits, frame } of FIXTURES) {
    if (frame.length > 64) continue;
    for (let a = 1; a < frame.length; a++) {
      for (let b = a; b < frame.length; b++) {
        const got = feed(limits, [
          frame.subarray(0, a),
          frame.subarray(a, b),
          frame.subarray(b),
        ]);
        assertFrames(got, frame);
      }
    }
  }
});

Deno.test("empty chunks are harmless anywhere", () => {
  const frame = encodeRelay([2n, 3n], encoder.encode("foobar"));
  const empty = new Uint8Array(0);
  for (let cut = 0; cut <= frame.length; cut++) {
    const got = feed(REQUEST_LIMITS, [
      empty,
      frame.subarray(0, cut),
      empty,
      frame.subarray(cut),
      empty,
    ]);
    assertFrames(got, frame);
  }
});

for (
  const [label, fixtures, limits] of [
    ["request", REQUEST_FIXTURES, REQUEST_LIMITS],
    ["reply", REPLY_FIXTURES, REPLY_LIMITS],
  ] as const
) {
  const stream = concat(fixtures.map((f) => f.frame));

  Deno.test(`all ${label} fixtures in one chunk, in order`, () => {
    const chunk = padded(stream);
    const got = feed(limits, [chunk]);
    assertFrames(got, stream);
    assertEquals(got.length, fixtures.length);
    for (const g of got) {
      if (g.payload.length > 0) {
        assertEquals(g.owned, false);
        assertStrictEquals(g.view.buffer, chunk.buffer);
      }
    }
  });

  Deno.test(`all ${label} fixtures split in two at every offset`, () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const got = feed(limits, [stream.subarray(0, cut), stream.subarray(cut)]);
      assertFrames(got, stream);
    }
  });

  Deno.test(`all ${label} fixtures one byte at a time`, () => {
    const got = feed(limits, Array.from(stream, (b) => new Uint8Array([b])));
    assertFrames(got, stream);
  });

  Deno.test(`all ${label} fixtures in chunks of every size up to 40`, () => {
    for (let size = 1; size <= 40; size++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += size) {
        chunks.push(stream.subarray(i, i + size));
      }
      assertFrames(feed(limits, chunks), stream);
    }
  });
}

Deno.test("frames at the largest allowed sizes parse whole and split", () => {
  const frames = [
    encodeEcho(bytesOf(MAX_BODY)),
    encodeRelay(ids(MAX_RECEIVERS), bytesOf(MAX_BODY, 2)),
    encodeRelay([1n], bytesOf(MAX_BODY, 3), true),
  ];
  for (const frame of frames) {
    assertFrames(feed(REQUEST_LIMITS, [frame]), frame);
    for (const cut of [1, 5, 6, 7, 1000, frame.length - 1]) {
      const got = feed(REQUEST_LIMITS, [
        frame.subarray(0, cut),
        frame.subarray(cut),
      ]);
      assertFrames(got, frame);
    }
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < frame.length; i += 65_536) {
      chunks.push(frame.subarray(i, i + 65_536));
    }
    assertFrames(feed(REQUEST_LIMITS, chunks), frame);
  }
  const deliver = encodeDeliver(MAX_ID, bytesOf(MAX_BODY));
  assertFrames(
    feed(REPLY_LIMITS, [deliver.subarray(0, 9), deliver.subarray(9)]),
    deliver,
  );
});

// --- The owned flag ----------------------------------------------------------

Deno.test("an owned payload is the parser's to give away: never touched again", () => {
  const first = encodeEcho(bytesOf(100, 1));
  const second = encodeEcho(bytesOf(100, 2));
  const third = encodeRelay([2n], bytesOf(50, 3));
  const kept: Uint8Array[] = [];
  const parser = new FrameParser(REQUEST_LIMITS, (kind, payload, owned) => {
    assertOwnedLayout(kind, payload, owned);
    assert(owned);
    // The callee may keep it and write into it, header bytes included.
    const frame = new Uint8Array(
      payload.buffer,
      payload.byteOffset - HEADER_SIZE,
      HEADER_SIZE + payload.length,
    );
    frame.fill(kept.length + 0xa0);
    kept.push(frame);
  });
  for (const frame of [first, second, third]) {
    parser.parse(frame.subarray(0, 30));
    parser.parse(frame.subarray(30));
  }
  assertEquals(kept.length, 3);
  const buffers = new Set(kept.map((k) => k.buffer));
  assertEquals(buffers.size, 3, "each owned frame has a buffer of its own");
  kept.forEach((frame, i) => {
    assert(frame.every((b) => b === i + 0xa0), `frame ${i} was overwritten`);
  });
});

Deno.test("owned reply buffers of a split frame carry the right header", () => {
  for (const { limits, frame } of FIXTURES) {
    if (frame.length <= HEADER_SIZE + 1) continue;
    const parser = new FrameParser(limits, (kind, payload, owned) => {
      assert(owned);
      const whole = new Uint8Array(
        payload.buffer,
        payload.byteOffset - HEADER_SIZE,
        HEADER_SIZE + payload.length,
      );
      assertEquals(kind, frame[0]);
      assertEquals(whole, frame);
    });
    parser.parse(frame.subarray(0, HEADER_SIZE + 1));
    assertEquals(parser.buffered, HEADER_SIZE + 1);
    parser.parse(frame.subarray(HEADER_SIZE + 1));
    assertEquals(parser.buffered, 0);
  }
});

Deno.test("a zero-length frame is never handed out owned without its header", () => {
  // The hub reuses an owned ECHO payload's buffer as the reply frame, so an
  // empty ECHO must not claim a buffer it does not have.
  for (
    const frame of [
      encodeEcho(new Uint8Array(0)),
      encodeFrame(Kind.Identity),
      encodeFrame(Kind.Ping),
    ]
  ) {
    for (let cut = 0; cut <= frame.length; cut++) {
      const parser = new FrameParser(REQUEST_LIMITS, (kind, payload, owned) => {
        assertEquals(payload.length, 0);
        assertOwnedLayout(kind, payload, owned);
      });
      parser.parse(frame.subarray(0, cut));
      parser.parse(frame.subarray(cut));
    }
  }
});

// --- buffered --------------------------------------------------------------

Deno.test("buffered counts the bytes of the unfinished frame", () => {
  const frame = encodeRelay([2n, 3n], encoder.encode("foobar"));
  const parser = new FrameParser(REQUEST_LIMITS, () => {});
  for (let i = 0; i < frame.length; i++) {
    assertEquals(parser.buffered, i);
    parser.parse(frame.subarray(i, i + 1));
  }
  assertEquals(parser.buffered, 0);

  const big = new FrameParser(REQUEST_LIMITS, () => {});
  big.parse(header(Kind.Echo, MAX_BODY));
  assertEquals(big.buffered, HEADER_SIZE, "no payload is buffered ahead");
  big.parse(new Uint8Array(10));
  assertEquals(big.buffered, HEADER_SIZE + 10);
});

// --- Malformed input ----------------------------------------------------------

type ErrorClass = typeof MalformedFrameError | typeof FrameTooLargeError;

interface BadCase {
  name: string;
  limits: Int32Array;
  bytes: Uint8Array;
  error: ErrorClass;
  code: number;
  /** How many bytes of `bytes` the parser needs to see to throw. */
  at: number;
}

function relayHead(kind: number, length: number, n: number): Uint8Array {
  return concat([header(kind, length), new Uint8Array([n])]);
}

const TWO_31 = 0x8000_0000;
const U32_MAX = 0xffff_ffff;

function badCases(): BadCase[] {
  const cases: BadCase[] = [];
  const add = (
    name: string,
    limits: Int32Array,
    bytes: Uint8Array,
    error: ErrorClass,
    at: number,
  ) => {
    const code = error === MalformedFrameError ? 1 : 2;
    cases.push({ name, limits, bytes, error, code, at });
  };

  // Unknown kinds, whatever their length.
  for (const kind of [0x00, 0x09, 0x10, 0x7f, 0x80, 0x81, 0x84, 0x88, 0xff]) {
    add(
      `unknown request kind 0x${kind.toString(16)}`,
      REQUEST_LIMITS,
      header(kind, 0),
      MalformedFrameError,
      5,
    );
    add(
      `unknown request kind 0x${kind.toString(16)}, long`,
      REQUEST_LIMITS,
      header(kind, U32_MAX),
      MalformedFrameError,
      5,
    );
  }
  for (const kind of [0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x86, 0xfe]) {
    add(
      `unknown reply kind 0x${kind.toString(16)}`,
      REPLY_LIMITS,
      header(kind, 3),
      MalformedFrameError,
      5,
    );
  }

  for (const kind of [Kind.Relay, Kind.RelayReceipted]) {
    const k = `kind ${kind}`;
    add(
      `${k}: empty payload`,
      REQUEST_LIMITS,
      header(kind, 0),
      MalformedFrameError,
      5,
    );
    add(
      `${k}: n = 0`,
      REQUEST_LIMITS,
      relayHead(kind, 9, 0),
      MalformedFrameError,
      6,
    );
    add(
      `${k}: n = 0, no ids`,
      REQUEST_LIMITS,
      relayHead(kind, 1, 0),
      MalformedFrameError,
      6,
    );
    add(
      `${k}: n = 1, length 1`,
      REQUEST_LIMITS,
      relayHead(kind, 1, 1),
      MalformedFrameError,
      6,
    );
    add(
      `${k}: n = 1, length 8`,
      REQUEST_LIMITS,
      relayHead(kind, 8, 1),
      MalformedFrameError,
      6,
    );
    add(
      `${k}: n = 2, length 16`,
      REQUEST_LIMITS,
      relayHead(kind, 16, 2),
      MalformedFrameError,
      6,
    );
    add(
      `${k}: n = 255, length 2040`,
      REQUEST_LIMITS,
      relayHead(kind, 2040, 255),
      MalformedFrameError,
      6,
    );
    add(
      `${k}: n = 1, body MAX_BODY + 1`,
      REQUEST_LIMITS,
      relayHead(kind, 1 + 8 + MAX_BODY + 1, 1),
      FrameTooLargeError,
      6,
    );
    add(
      `${k}: n = 254 at the largest length`,
      REQUEST_LIMITS,
      relayHead(kind, MAX_RELAY_PAYLOAD, 254),
      FrameTooLargeError,
      6,
    );
    add(
      `${k}: n = 1 at the largest length`,
      REQUEST_LIMITS,
      relayHead(kind, MAX_RELAY_PAYLOAD, 1),
      FrameTooLargeError,
      6,
    );
  }

  for (const kind of [Kind.Identity, Kind.List, Kind.Ping, Kind.Pong]) {
    for (const length of [1, 8]) {
      add(
        `kind ${kind} with length ${length}`,
        REQUEST_LIMITS,
        header(kind, length),
        FrameTooLargeError,
        5,
      );
    }
  }
  for (const kind of [Kind.AuthOk, Kind.Ping, Kind.Pong]) {
    add(
      `reply kind ${kind} with length 1`,
      REPLY_LIMITS,
      header(kind, 1),
      FrameTooLargeError,
      5,
    );
  }
  add(
    "AUTH of 1025 bytes",
    REQUEST_LIMITS,
    header(Kind.Auth, MAX_TOKEN + 1),
    FrameTooLargeError,
    5,
  );
  add(
    "IDENTITY_REPLY of 9 bytes",
    REPLY_LIMITS,
    header(Kind.IdentityReply, 9),
    FrameTooLargeError,
    5,
  );

  // Huge declared lengths on every accepted kind, in both directions.
  for (
    const [label, limits] of [["request", REQUEST_LIMITS], [
      "reply",
      REPLY_LIMITS,
    ]] as const
  ) {
    for (let kind = 0; kind < 256; kind++) {
      const max = limits[kind]!;
      if (max < 0) continue;
      const lengths = new Set([max + 1, MAX_BODY + 1, TWO_31, U32_MAX]);
      for (const length of lengths) {
        if (length <= max) continue;
        add(
          `${label} kind 0x${kind.toString(16)} declaring ${length}`,
          limits,
          header(kind, length),
          FrameTooLargeError,
          5,
        );
      }
    }
  }
  return cases;
}

const BAD_CASES = badCases();

function assertBad(c: BadCase, error: unknown): void {
  if (!(error instanceof ProtocolError)) {
    throw new Error(`${c.name}: expected a ProtocolError, got ${error}`);
  }
  assertStrictEquals(error.constructor, c.error, c.name);
  assertEquals(error.code, c.code, c.name);
  assertEquals(error.name, c.error.name, c.name);
  assert(error.message.startsWith("Cannot parse"), error.message);
}

function parseExpectingError(c: BadCase, parse: () => void): void {
  let caught: unknown = undefined;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  assert(caught !== undefined, `${c.name}: expected ${c.error.name}`);
  assertBad(c, caught);
}

Deno.test("malformed table: the inputs cover both errors and both directions", () => {
  assert(BAD_CASES.length > 80);
  assert(BAD_CASES.some((c) => c.code === 1 && c.limits === REPLY_LIMITS));
  assert(BAD_CASES.some((c) => c.code === 2 && c.limits === REPLY_LIMITS));
});

Deno.test("malformed table: fed whole", () => {
  for (const c of BAD_CASES) {
    const got: Got[] = [];
    const parser = newParser(c.limits, got);
    parseExpectingError(c, () => parser.parse(c.bytes));
    assertEquals(got, [], c.name);
  }
});

Deno.test("malformed table: fed with whatever follows the offending byte", () => {
  const tail = new Uint8Array(4096).fill(0x41);
  for (const c of BAD_CASES) {
    const parser = newParser(c.limits, []);
    parseExpectingError(c, () => parser.parse(concat([c.bytes, tail])));
  }
});

Deno.test("malformed table: one byte at a time, thrown at the exact byte", () => {
  for (const c of BAD_CASES) {
    const parser = newParser(c.limits, []);
    for (let i = 0; i < c.at - 1; i++) {
      parser.parse(c.bytes.subarray(i, i + 1));
      assert(parser.buffered <= c.at, `${c.name}: buffered ${parser.buffered}`);
    }
    parseExpectingError(
      c,
      () => parser.parse(c.bytes.subarray(c.at - 1, c.at)),
    );
    assert(
      parser.buffered <= HEADER_SIZE + 1,
      `${c.name}: buffered ${parser.buffered}`,
    );
  }
});

Deno.test("malformed table: split at every offset, after valid frames", () => {
  for (const c of BAD_CASES) {
    const prefix = c.limits === REQUEST_LIMITS
      ? concat([encodeFrame(Kind.Ping), encodeEcho(bytesOf(9))])
      : concat([encodeFrame(Kind.Pong), encodeDeliver(3n, bytesOf(9))]);
    const stream = concat([prefix, c.bytes]);
    for (let cut = 0; cut < prefix.length + c.at; cut++) {
      const got: Got[] = [];
      const parser = newParser(c.limits, got);
      parseExpectingError(c, () => {
        parser.parse(stream.subarray(0, cut));
        parser.parse(stream.subarray(cut));
      });
      assertFrames(got, prefix);
    }
  }
});

Deno.test("declared lengths over the limit throw on the header, buffering nothing", () => {
  for (const c of BAD_CASES) {
    if (c.at !== HEADER_SIZE || c.code !== 2) continue;
    const parser = newParser(c.limits, []);
    parser.parse(c.bytes.subarray(0, 4));
    assertEquals(parser.buffered, 4, c.name);
    parseExpectingError(c, () => parser.parse(c.bytes.subarray(4, 5)));
    assert(parser.buffered <= HEADER_SIZE, c.name);
  }
});

Deno.test("lengths at exactly the limit are accepted on the header", () => {
  for (
    const [limits, name] of [[REQUEST_LIMITS, "request"], [
      REPLY_LIMITS,
      "reply",
    ]] as const
  ) {
    for (let kind = 0; kind < 256; kind++) {
      const max = limits[kind]!;
      if (max < 0) continue;
      const got: Got[] = [];
      const parser = newParser(limits, got);
      parser.parse(header(kind, max));
      if (max === 0) {
        assertEquals(got.length, 1, `${name} 0x${kind.toString(16)}`);
        assertEquals(parser.buffered, 0);
      } else {
        assertEquals(got.length, 0);
        assertEquals(parser.buffered, HEADER_SIZE);
      }
    }
  }
});

Deno.test("relay boundaries once n is known", () => {
  for (const kind of [Kind.Relay, Kind.RelayReceipted]) {
    // n = 255 at the largest length leaves exactly MAX_BODY for the body.
    const parser = newParser(REQUEST_LIMITS, []);
    parser.parse(relayHead(kind, MAX_RELAY_PAYLOAD, 255));
    assertEquals(parser.buffered, HEADER_SIZE + 1);
    // n = 1 with a body of exactly MAX_BODY.
    const one = newParser(REQUEST_LIMITS, []);
    one.parse(relayHead(kind, 1 + 8 + MAX_BODY, 1));
    assertEquals(one.buffered, HEADER_SIZE + 1);
    // MAX_BODY + 1 is within the relay's limit: the header alone is fine.
    const header_only = newParser(REQUEST_LIMITS, []);
    header_only.parse(header(kind, MAX_BODY + 1));
    assertEquals(header_only.buffered, HEADER_SIZE);
    // Exactly 1 + 8n bytes: an empty body.
    const got = feed(REQUEST_LIMITS, [
      relayHead(kind, 17, 2),
      new Uint8Array(16),
    ]);
    assertEquals(got.length, 1);
    assertEquals(got[0]!.payload.length, 17);
  }
});
