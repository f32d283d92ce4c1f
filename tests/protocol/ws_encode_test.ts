import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  encodeWsClose,
  encodeWsFrame,
  encodeWsHeader,
  encodeWsPing,
  encodeWsPong,
  ErrorCode,
  isUtf8,
  isValidCloseCode,
  Utf8Validator,
  writeWsHeader,
  WsCloseCode,
  wsCloseCodeFor,
  wsHeaderSize,
  wsMaskKey,
  WsOpcode,
} from "../../protocol/mod.ts";
import { maskBytes } from "../../protocol/_ws_mask.ts";
import {
  bytesOf,
  concat,
  hex,
  Random,
  Recorder,
  type WsEvent,
} from "./_ws_helpers.ts";

const utf8 = new TextEncoder();

// --- Headers --------------------------------------------------------------------

Deno.test("headers at every length boundary, byte for byte", () => {
  const cases: Array<[number, string]> = [
    [0, "82 00"],
    [125, "82 7d"],
    [126, "82 7e 00 7e"],
    [65535, "82 7e ff ff"],
    [65536, "82 7f 00 00 00 00 00 01 00 00"],
    [2 ** 32, "82 7f 00 00 00 01 00 00 00 00"],
    [Number.MAX_SAFE_INTEGER, "82 7f 00 1f ff ff ff ff ff ff"],
  ];
  for (const [length, bytes] of cases) {
    assertEquals(encodeWsHeader(WsOpcode.Binary, length), hex(bytes));
    assertEquals(wsHeaderSize(length), hex(bytes).length);
    assertEquals(wsHeaderSize(length, true), hex(bytes).length + 4);
  }
  assertEquals(
    encodeWsHeader(WsOpcode.Text, 3, { fin: false }),
    hex("01 03"),
  );
  const out = new Uint8Array(20).fill(0xee);
  const size = writeWsHeader(out, 3, WsOpcode.Continuation, 300, {
    mask: hex("01 02 03 04"),
  });
  assertEquals(size, 8);
  assertEquals(out.subarray(0, 12), hex("ee ee ee 80 fe 01 2c 01 02 03 04 ee"));
  for (const bad of [-1, 1.5, 2 ** 53, NaN]) {
    assertThrows(() => encodeWsHeader(WsOpcode.Binary, bad), RangeError);
  }
  assertThrows(
    () => encodeWsFrame(WsOpcode.Binary, bytesOf(3), { mask: hex("01 02") }),
    RangeError,
  );
});

Deno.test("a header encoded once serves every receiver of the same payload", () => {
  const payload = bytesOf(70_000);
  const header = encodeWsHeader(WsOpcode.Binary, payload.length);
  assertEquals(
    concat([header, payload]),
    encodeWsFrame(WsOpcode.Binary, payload),
  );
});

// --- Frames ---------------------------------------------------------------------

Deno.test("frames round-trip through the parser, masked and not, at every size boundary", () => {
  for (
    const length of [
      0,
      1,
      3,
      4,
      5,
      63,
      64,
      65,
      125,
      126,
      127,
      65535,
      65536,
      100_003,
    ]
  ) {
    const payload = bytesOf(length, length);
    const key = wsMaskKey();
    const masked = encodeWsFrame(WsOpcode.Binary, payload, { mask: key });
    assertEquals(masked.length, wsHeaderSize(length, true) + length);
    const server = new Recorder();
    server.feed(masked);
    const client = new Recorder({ role: "client" });
    client.feed(encodeWsFrame(WsOpcode.Binary, payload));
    const expected: WsEvent[] = length === 0
      ? [{ type: "end", text: false }]
      : [{ type: "data", text: false, bytes: payload }, {
        type: "end",
        text: false,
      }];
    assertEquals(server.events, expected, `masked ${length}`);
    assertEquals(client.events, expected, `unmasked ${length}`);
  }
});

Deno.test("encoding with a mask leaves the payload untouched", () => {
  const payload = bytesOf(200);
  const before = payload.slice();
  encodeWsFrame(WsOpcode.Binary, payload, { mask: hex("ff 00 ff 00") });
  assertEquals(payload, before);
});

Deno.test("close, ping and pong frames", () => {
  assertEquals(encodeWsClose(), hex("88 00"));
  assertEquals(encodeWsClose(1000), hex("88 02 03 e8"));
  assertEquals(
    encodeWsClose(WsCloseCode.MessageTooBig, "too big"),
    concat([hex("88 09 03 f1"), utf8.encode("too big")]),
  );
  assertEquals(encodeWsClose(4000, "x".repeat(123)).length, 2 + 125);
  assertThrows(() => encodeWsClose(4000, "x".repeat(124)), RangeError);
  assertThrows(() => encodeWsClose(4000, "é".repeat(62)), RangeError);
  assertThrows(() => encodeWsClose(undefined, "why"), RangeError);
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 5000]) {
    assertThrows(() => encodeWsClose(code), RangeError);
  }
  assertEquals(encodeWsPing(hex("01 02")), hex("89 02 01 02"));
  assertEquals(encodeWsPong(), hex("8a 00"));
  assertEquals(encodeWsPong(bytesOf(125)).length, 127);
  assertThrows(() => encodeWsPing(bytesOf(126)), RangeError);
  assertThrows(
    () => encodeWsFrame(WsOpcode.Ping, bytesOf(1), { fin: false }),
    RangeError,
  );
  const masked = encodeWsClose(1001, "bye", { mask: hex("0a 0b 0c 0d") });
  const r = new Recorder();
  r.feed(masked);
  assertEquals(r.events, [{ type: "close", code: 1001, reason: "bye" }]);
});

Deno.test("close codes: validity and the code each msghub ERROR earns", () => {
  for (let code = 0; code < 70_000; code++) {
    const valid = (code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    assertEquals(isValidCloseCode(code), valid, `${code}`);
  }
  assertEquals(wsCloseCodeFor(ErrorCode.TooLarge), 1009);
  assertEquals(wsCloseCodeFor(ErrorCode.TooManyClients), 1013);
  assertEquals(wsCloseCodeFor(ErrorCode.ShuttingDown), 1001);
  for (
    const code of [
      ErrorCode.Malformed,
      ErrorCode.SlowConsumer,
      ErrorCode.Timeout,
      ErrorCode.Unauthorized,
    ]
  ) {
    assertEquals(wsCloseCodeFor(code), 1008);
  }
});

// --- Masking ------------------------------------------------------------------------

Deno.test("maskBytes matches a byte loop at every alignment, phase and length", () => {
  const random = new Random(42);
  const key = hex("a1 b2 c3 d4");
  const base = random.bytes(400);
  for (let offset = 0; offset < 5; offset++) {
    for (let start = 0; start < 6; start++) {
      for (const length of [0, 1, 3, 4, 63, 64, 65, 66, 67, 128, 200, 333]) {
        for (let phase = 0; phase < 4; phase++) {
          const bytes = base.slice().subarray(offset);
          const end = Math.min(start + length, bytes.length);
          const expected = bytes.slice();
          for (let i = start; i < end; i++) {
            expected[i] = expected[i]! ^ key[(phase + i - start) & 3]!;
          }
          maskBytes(bytes, start, end, key, phase);
          assertEquals(
            bytes,
            expected,
            `${offset} ${start} ${length} ${phase}`,
          );
        }
      }
    }
  }
});

// --- UTF-8 ----------------------------------------------------------------------------

Deno.test("UTF-8: every code point's encoding, whole and cut at every byte", () => {
  const validator = new Utf8Validator();
  for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x800 ? 1 : 61) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const bytes = utf8.encode(String.fromCodePoint(cp));
    assert(isUtf8(bytes), `U+${cp.toString(16)}`);
    for (let cut = 1; cut < bytes.length; cut++) {
      validator.reset();
      assert(validator.push(bytes, 0, cut));
      assert(!validator.complete);
      assert(validator.push(bytes, cut));
      assert(validator.complete);
    }
  }
});

Deno.test("UTF-8: agrees with a fatal TextDecoder on random bytes, across every split", () => {
  const random = new Random(3629);
  const pieces = [
    ...["é", "€", "𝄞", "a", "\u0000", "\u{10ffff}", "\ud7ff", "\ue000"].map(
      (s) => utf8.encode(s),
    ),
    hex("c0"),
    hex("c1 bf"),
    hex("e0 9f bf"),
    hex("ed a0 80"),
    hex("ed 9f bf"),
    hex("f0 8f bf bf"),
    hex("f4 90 80 80"),
    hex("f4 8f bf bf"),
    hex("f5"),
    hex("80"),
    hex("bf"),
    hex("fe"),
    hex("ff"),
  ];
  const validator = new Utf8Validator();
  for (let round = 0; round < 4000; round++) {
    const bytes = concat(
      Array.from(
        { length: random.range(0, 6) },
        () =>
          random.chance(0.15)
            ? random.bytes(random.range(1, 3))
            : random.pick(pieces),
      ),
    );
    let expected = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      expected = false;
    }
    assertEquals(isUtf8(bytes), expected, `${bytes}`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      validator.reset();
      const ok = validator.push(bytes, 0, cut) && validator.push(bytes, cut) &&
        validator.complete;
      assertEquals(ok, expected, `${bytes} cut at ${cut}`);
    }
  }
});

Deno.test("UTF-8: a failed validator stays failed until reset", () => {
  const validator = new Utf8Validator();
  assert(!validator.push(hex("ff")));
  assert(validator.failed);
  assert(!validator.push(hex("41")));
  assert(!validator.complete);
  validator.reset();
  assert(validator.push(hex("41")) && validator.complete);
});
