/**
 * The bench's WebSocket stream reader: the same stream as WsFrameParser
 * gives, at every split point, one byte at a time and in random chunks; and
 * the parser's refusals for frames a server may not send.
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { concat, Random } from "../protocol/_ws_helpers.ts";
import {
  encodeWsClose,
  encodeWsFrame,
  encodeWsPing,
  encodeWsPong,
  WsCloseCode,
  WsOpcode,
  WsProtocolError,
} from "../../protocol/mod.ts";
import { WsStreamReader } from "../../bench/ws_reader.ts";

interface Seen {
  stream: Uint8Array;
  pings: number[][];
  closes: number[];
  /** onData calls: fewer than frames when plain frames are joined. */
  calls: number;
}

/** Feeds copies of `chunks` (the reader rewrites them) to a fresh reader. */
function read(chunks: readonly Uint8Array[]): Seen {
  const parts: Uint8Array[] = [];
  const seen: Seen = {
    stream: new Uint8Array(0),
    pings: [],
    closes: [],
    calls: 0,
  };
  const reader = new WsStreamReader({
    onData: (bytes) => {
      seen.calls++;
      parts.push(bytes.slice());
    },
    onPing: (payload) => seen.pings.push([...payload]),
    onClose: (code) => seen.closes.push(code),
  });
  for (const chunk of chunks) reader.feed(chunk.slice());
  seen.stream = concat(parts);
  return seen;
}

/** Byte equality without the cost of a deep comparison of large arrays. */
function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  assertEquals(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      throw new Error(`${what}: byte ${i} is ${a[i]}, expected ${b[i]}`);
    }
  }
}

function fill(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
}

const binary = (payload: Uint8Array, fin = true) =>
  encodeWsFrame(WsOpcode.Binary, payload, { fin });

/** Frames of every kind a server sends, and the stream they carry. */
const FRAMES = [
  binary(fill(19, 1)),
  binary(fill(19, 2)),
  binary(fill(0, 0)),
  binary(fill(300, 3)),
  binary(fill(70_000, 4)),
  encodeWsPing(new Uint8Array([9, 8])),
  binary(fill(5, 5), false),
  encodeWsPing(new Uint8Array([7])),
  encodeWsFrame(WsOpcode.Continuation, fill(200, 6), { fin: false }),
  encodeWsFrame(WsOpcode.Continuation, fill(3, 7)),
  encodeWsPong(),
  encodeWsFrame(WsOpcode.Text, new TextEncoder().encode("text\n")),
  binary(fill(125, 8)),
  binary(fill(126, 9)),
  binary(fill(65_535, 10)),
  binary(fill(65_536, 11)),
  binary(fill(19, 12)),
];
const EXPECTED = new Uint8Array([
  ...fill(19, 1),
  ...fill(19, 2),
  ...fill(300, 3),
  ...fill(70_000, 4),
  ...fill(5, 5),
  ...fill(200, 6),
  ...fill(3, 7),
  ...new TextEncoder().encode("text\n"),
  ...fill(125, 8),
  ...fill(126, 9),
  ...fill(65_535, 10),
  ...fill(65_536, 11),
  ...fill(19, 12),
]);
const ALL = concat(FRAMES);

function check(seen: Seen, what: string): void {
  sameBytes(seen.stream, EXPECTED, what);
  assertEquals(seen.pings, [[9, 8], [7]], what);
  assertEquals(seen.closes, [], what);
}

Deno.test("ws reader: the stream whole, and plain frames joined into one call", () => {
  const seen = read([ALL]);
  check(seen, "whole");
  const small = read([concat(FRAMES.slice(0, 4))]);
  assertEquals(small.calls, 1, "four plain frames, one view");
});

Deno.test("ws reader: every split point around the small frames, and byte by byte", () => {
  // The large frames make every split of ALL slow to check; split a prefix
  // holding every kind but the 64-bit lengths at every point, ALL at some.
  const prefix = concat([...FRAMES.slice(0, 4), ...FRAMES.slice(5, 13)]);
  const expected = read([prefix]);
  for (let at = 0; at <= prefix.length; at++) {
    const seen = read([prefix.subarray(0, at), prefix.subarray(at)]);
    sameBytes(seen.stream, expected.stream, `split at ${at}`);
    assertEquals(seen.pings, expected.pings, `split at ${at}`);
  }
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < prefix.length; i++) {
    bytes.push(prefix.subarray(i, i + 1));
  }
  sameBytes(read(bytes).stream, expected.stream, "byte by byte");
  for (let at = 0; at <= ALL.length; at += 997) {
    check(read([ALL.subarray(0, at), ALL.subarray(at)]), `split at ${at}`);
  }
});

Deno.test("ws reader: random chunkings of random frames", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const random = new Random(seed);
    const frames: Uint8Array[] = [];
    const expected: Uint8Array[] = [];
    for (let n = random.range(1, 60); n > 0; n--) {
      const payload = random.bytes(random.size(70_000));
      if (random.chance(0.1)) {
        frames.push(encodeWsPing(payload.subarray(0, 125)));
        continue;
      }
      if (random.chance(0.15)) {
        const cut = random.int(payload.length + 1);
        frames.push(binary(payload.subarray(0, cut), false));
        frames.push(
          encodeWsFrame(WsOpcode.Continuation, payload.subarray(cut)),
        );
      } else {
        frames.push(binary(payload));
      }
      expected.push(payload);
    }
    const chunks = random.chunks(concat(frames));
    const seen = read(chunks);
    sameBytes(seen.stream, concat(expected), `seed ${seed}`);
  }
});

Deno.test("ws reader: the server's close ends the stream; what follows is ignored", () => {
  const seen = read([
    concat([
      binary(fill(3, 1)),
      encodeWsClose(WsCloseCode.GoingAway, "bye"),
      binary(fill(3, 2)),
    ]),
  ]);
  sameBytes(seen.stream, fill(3, 1), "before the close");
  assertEquals(seen.closes, [WsCloseCode.GoingAway]);
});

Deno.test("ws reader: frames a server may not send are refused by the parser", () => {
  const mask = new Uint8Array([1, 2, 3, 4]);
  const bad = [
    ["a masked frame", encodeWsFrame(WsOpcode.Binary, fill(4, 1), { mask })],
    [
      "a new message inside a fragmented one",
      concat([binary(fill(2, 1), false), binary(fill(2, 2))]),
    ],
    ["a reserved bit", new Uint8Array([0xc2, 0x01, 0x00])],
    ["an unknown opcode", new Uint8Array([0x83, 0x00])],
    ["a continuation outside a message", new Uint8Array([0x80, 0x00])],
  ] as const;
  for (const [what, bytes] of bad) {
    const error = assertThrows(() => read([bytes]), WsProtocolError);
    assert(error.message.startsWith("Cannot parse WebSocket"), what);
  }
});
