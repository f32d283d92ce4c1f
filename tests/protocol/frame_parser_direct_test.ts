import { assertEquals, assertThrows } from "../_assert.ts";
import {
  encodeEcho,
  FrameParser,
  Kind,
  REQUEST_LIMITS,
} from "../../protocol/mod.ts";

Deno.test("a large payload can be read straight into the parser's frame", () => {
  const body = new Uint8Array(200_000).map((_, i) => i & 0xff);
  const frame = encodeEcho(body);
  const got: Array<{ kind: number; payload: Uint8Array; owned: boolean }> = [];
  const parser = new FrameParser(
    REQUEST_LIMITS,
    (kind, payload, owned) => got.push({ kind, payload, owned }),
  );
  assertEquals(parser.pending, null);
  parser.parse(frame.subarray(0, 1000));
  let pending = parser.pending;
  if (pending === null) throw new Error("Expected a pending payload");
  assertEquals(pending.length, frame.length - 1000);
  // As a socket read would: part of it, then the rest.
  pending.set(frame.subarray(1000, 50_000));
  parser.filled(49_000);
  assertEquals(got.length, 0);
  pending = parser.pending!;
  assertEquals(pending.length, frame.length - 50_000);
  pending.set(frame.subarray(50_000));
  assertThrows(() => parser.filled(pending!.length + 1), RangeError);
  parser.filled(pending.length);
  assertEquals(got.length, 1);
  assertEquals(got[0]!.kind, Kind.Echo);
  assertEquals(got[0]!.owned, true);
  assertEquals(got[0]!.payload, body);
  assertEquals(
    new Uint8Array(got[0]!.payload.buffer, 0, 5),
    frame.subarray(0, 5),
  );
  assertEquals(parser.pending, null);
  assertThrows(() => parser.filled(1), RangeError);
  // The parser goes on with whole frames after.
  parser.parse(encodeEcho(new Uint8Array([7])));
  assertEquals(got.length, 2);
});
