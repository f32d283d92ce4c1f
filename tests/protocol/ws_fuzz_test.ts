import { assert, assertEquals } from "../_assert.ts";
import { WsOpcode, WsProtocolError } from "../../protocol/mod.ts";
import {
  encodeFrames,
  expectedEvents,
  type FrameSpec,
  Random,
  Recorder,
  WS_SIZES,
} from "./_ws_helpers.ts";

const utf8 = new TextEncoder();
const SAMPLES = ["a", "é", "€", "𝄞", "\n", " ", "z", "\u{10ffff}", "\u0000"];

function randomText(random: Random, max: number): Uint8Array {
  let s = "";
  const n = random.size(max, WS_SIZES);
  for (let i = 0; i < n; i++) s += random.pick(SAMPLES);
  return utf8.encode(s);
}

function control(random: Random): FrameSpec {
  return {
    opcode: random.chance(0.5) ? WsOpcode.Ping : WsOpcode.Pong,
    payload: random.bytes(random.chance(0.2) ? 125 : random.range(0, 10)),
    mask: random.bytes(4),
  };
}

/** A valid stream: messages cut into fragments, controls between them. */
function generate(random: Random): FrameSpec[] {
  const frames: FrameSpec[] = [];
  const messages = random.range(1, 12);
  for (let m = 0; m < messages; m++) {
    if (random.chance(0.2)) frames.push(control(random));
    const text = random.chance(0.5);
    const payload = text
      ? randomText(random, 2000)
      : random.bytes(random.size(80_000, WS_SIZES));
    const pieces = random.chance(0.5) ? 1 : random.range(2, 6);
    let at = 0;
    for (let p = 0; p < pieces; p++) {
      const last = p === pieces - 1;
      // Cuts anywhere, inside characters too.
      const end = last ? payload.length : random.range(at, payload.length);
      frames.push({
        opcode: p === 0
          ? (text ? WsOpcode.Text : WsOpcode.Binary)
          : WsOpcode.Continuation,
        payload: payload.subarray(at, end),
        fin: last,
        mask: random.bytes(4),
      });
      at = end;
      if (!last && random.chance(0.3)) frames.push(control(random));
    }
  }
  if (random.chance(0.3)) {
    const reason = randomText(random, 20);
    frames.push({
      opcode: WsOpcode.Close,
      payload: new Uint8Array([0x03, 0xe8, ...reason]),
      mask: random.bytes(4),
    });
  }
  return frames;
}

const SEED = 20_110_117; // RFC 6455's month; change to explore, keep to replay

Deno.test("fuzz: valid streams in random chunks give the reference events", () => {
  const random = new Random(SEED);
  for (let round = 0; round < 1000; round++) {
    const frames = generate(random);
    const masked = round % 5 !== 0;
    const bytes = encodeFrames(frames, masked);
    const r = new Recorder({ role: masked ? "server" : "client" });
    for (const chunk of random.chunks(bytes, WS_SIZES)) r.feed(chunk);
    assertEquals(r.events, expectedEvents(frames), `round ${round}`);
    assert(r.parser.buffered === 0 || r.parser.closed);
  }
});

Deno.test("fuzz: corrupted streams either parse or throw WsProtocolError, memory bounded", () => {
  const random = new Random(SEED + 1);
  let thrown = 0;
  for (let round = 0; round < 1500; round++) {
    let bytes: Uint8Array;
    if (round % 7 === 0) {
      bytes = random.bytes(random.range(1, 3000));
    } else {
      bytes = encodeFrames(generate(random)).slice();
      for (let n = random.range(1, 4); n > 0; n--) {
        const at = random.int(bytes.length);
        bytes[at] = random.chance(0.5)
          ? random.int(256)
          : bytes[at]! ^ (1 << random.int(8));
      }
      if (random.chance(0.2)) {
        bytes = bytes.subarray(0, random.int(bytes.length));
      }
    }
    const r = new Recorder({ role: round % 3 === 0 ? "client" : "server" });
    try {
      for (const chunk of random.chunks(bytes, WS_SIZES)) r.feed(chunk);
    } catch (error) {
      if (!(error instanceof WsProtocolError)) {
        throw new Error(`round ${round}: ${error}`, { cause: error });
      }
      assert([1002, 1007, 1009].includes(error.closeCode));
      thrown++;
    }
    // Recorder.feed checks buffered <= 14 + 125 after every chunk.
    // Text handed out is valid UTF-8 per message (controls may come
    // between its pieces), a character possibly cut at the very end.
    let decoder = new TextDecoder("utf-8", { fatal: true });
    for (const event of r.events) {
      if (event.type === "data" && event.text) {
        decoder.decode(event.bytes, { stream: true });
      } else if (event.type === "end") {
        decoder = new TextDecoder("utf-8", { fatal: true });
      }
    }
  }
  assert(thrown > 500, `only ${thrown} streams were refused`);
});
