import { assert, assertEquals } from "../_assert.ts";
import {
  FrameParser,
  FrameTooLargeError,
  HEADER_SIZE,
  Kind,
  MalformedFrameError,
  MAX_BODY,
  MAX_RECEIVERS,
  ProtocolError,
  readU32,
  REPLY_LIMITS,
  REQUEST_LIMITS,
  writeHeader,
} from "../../protocol/mod.ts";
import { Random } from "../_random.ts";

const TWO_31 = 0x8000_0000;
const U32_MAX = 0xffff_ffff;

interface Generated {
  stream: Uint8Array;
  /** Offsets at which the generated frames start. */
  starts: number[];
}

function frameFor(
  random: Random,
  kind: number,
  limits: Int32Array,
): Uint8Array {
  let payload: Uint8Array;
  const max = limits[kind]!;
  if (kind === Kind.Relay || kind === Kind.RelayReceipted) {
    const n = random.chance(0.7)
      ? random.range(1, 4)
      : random.range(1, MAX_RECEIVERS);
    payload = new Uint8Array(1 + n * 8 + random.size(MAX_BODY));
    payload.set(random.bytes(payload.length));
    payload[0] = n;
  } else if (kind === Kind.Auth) {
    payload = random.bytes(random.range(1, max));
  } else if (kind === Kind.IdentityReply) {
    payload = random.bytes(8);
  } else if (kind === Kind.ListReply) {
    payload = random.bytes(8 * random.range(0, 40));
  } else if (kind === Kind.RelayReceipt) {
    const m = random.range(0, 6);
    payload = random.bytes(2 + 8 * m);
    payload[1] = m;
  } else if (kind === Kind.Deliver) {
    payload = random.bytes(8 + random.size(MAX_BODY));
  } else {
    payload = random.bytes(max === 0 ? 0 : random.size(max));
  }
  const frame = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(frame, 0, kind, payload.length);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

function acceptedKinds(limits: Int32Array): number[] {
  const kinds: number[] = [];
  for (let kind = 0; kind < 256; kind++) {
    if (limits[kind]! >= 0) kinds.push(kind);
  }
  return kinds;
}

function generate(random: Random, limits: Int32Array): Generated {
  const kinds = acceptedKinds(limits);
  const frames: Uint8Array[] = [];
  const count = random.range(1, 8);
  for (let i = 0; i < count; i++) {
    frames.push(frameFor(random, random.pick(kinds), limits));
  }
  let length = 0;
  const starts: number[] = [];
  for (const frame of frames) {
    starts.push(length);
    length += frame.length;
  }
  const stream = new Uint8Array(length);
  frames.forEach((frame, i) => stream.set(frame, starts[i]!));
  return { stream, starts };
}

function interestingLength(random: Random, limits: Int32Array, kind: number) {
  const max = Math.max(limits[kind]!, 0);
  return random.pick([
    0,
    1,
    8,
    9,
    max,
    max + 1,
    max - 1,
    MAX_BODY,
    MAX_BODY + 1,
    TWO_31,
    U32_MAX,
    random.int(U32_MAX),
    random.int(64),
  ]) >>> 0;
}

/** Applies one random mutation, returning the new stream. */
function mutate(
  random: Random,
  g: Generated,
  limits: Int32Array,
): Uint8Array {
  const s = g.stream;
  if (s.length === 0) return random.bytes(random.range(1, 20));
  const start = random.pick(g.starts);
  switch (random.int(9)) {
    case 0: { // flip a random byte
      const out = s.slice();
      out[random.int(out.length)] = random.int(256);
      return out;
    }
    case 1: { // a boundary value in some byte
      const out = s.slice();
      out[random.int(out.length)] = random.pick([0, 1, 0x7f, 0x80, 0xff]);
      return out;
    }
    case 2: { // rewrite a frame's declared length
      const out = s.slice();
      if (start + HEADER_SIZE > out.length) return out;
      writeHeader(
        out,
        start,
        out[start]!,
        interestingLength(random, limits, out[start]!),
      );
      return out;
    }
    case 3: { // change a frame's kind
      const out = s.slice();
      out[start] = random.chance(0.5)
        ? random.int(256)
        : random.pick(acceptedKinds(limits));
      return out;
    }
    case 4: { // a relay's receiver count
      const out = s.slice();
      if (start + HEADER_SIZE < out.length) {
        out[start + HEADER_SIZE] = random.pick([0, 1, 2, 255, random.int(256)]);
      }
      return out;
    }
    case 5: // truncate
      return s.slice(0, random.int(s.length));
    case 6: { // insert random bytes
      const at = random.int(s.length + 1);
      const extra = random.bytes(random.range(1, 12));
      const out = new Uint8Array(s.length + extra.length);
      out.set(s.subarray(0, at));
      out.set(extra, at);
      out.set(s.subarray(at), at + extra.length);
      return out;
    }
    case 7: { // delete a range
      const at = random.int(s.length);
      const end = Math.min(s.length, at + random.range(1, 12));
      const out = new Uint8Array(s.length - (end - at));
      out.set(s.subarray(0, at));
      out.set(s.subarray(end), at);
      return out;
    }
    default: { // append garbage
      const out = new Uint8Array(s.length + random.range(1, 30));
      out.set(s);
      out.set(random.bytes(out.length - s.length), s.length);
      return out;
    }
  }
}

type Expected = {
  frames: Array<[number, Uint8Array]>;
  /** Offsets where a frame ends, 0 first: `buffered` is measured from them. */
  boundaries: number[];
  error: null | {
    type: typeof MalformedFrameError | typeof FrameTooLargeError;
    /** Bytes the parser must see before it throws. */
    at: number;
  };
};

/**
 * A plain, whole-stream reading of the spec, written separately from the
 * incremental parser: what must come out of `stream`, and where it must fail.
 */
function reference(stream: Uint8Array, limits: Int32Array): Expected {
  const frames: Array<[number, Uint8Array]> = [];
  const boundaries = [0];
  let pos = 0;
  const fail = (
    type: typeof MalformedFrameError | typeof FrameTooLargeError,
    at: number,
  ): Expected => ({ frames, boundaries, error: { type, at } });
  while (stream.length - pos >= HEADER_SIZE) {
    const kind = stream[pos]!;
    const length = readU32(stream, pos + 1);
    const max = limits[kind]!;
    if (max < 0) return fail(MalformedFrameError, pos + HEADER_SIZE);
    if (length > max) return fail(FrameTooLargeError, pos + HEADER_SIZE);
    const relay = kind === Kind.Relay || kind === Kind.RelayReceipted;
    if (relay && length === 0) {
      return fail(MalformedFrameError, pos + HEADER_SIZE);
    }
    if (relay && pos + HEADER_SIZE < stream.length) {
      const n = stream[pos + HEADER_SIZE]!;
      if (n === 0 || length < 1 + 8 * n) {
        return fail(MalformedFrameError, pos + HEADER_SIZE + 1);
      }
      if (length - 1 - 8 * n > MAX_BODY) {
        return fail(FrameTooLargeError, pos + HEADER_SIZE + 1);
      }
    }
    const end = pos + HEADER_SIZE + length;
    if (end > stream.length) break;
    frames.push([kind, stream.slice(pos + HEADER_SIZE, end)]);
    boundaries.push(end);
    pos = end;
  }
  return { frames, boundaries, error: null };
}

function randomCuts(random: Random, length: number): number[] {
  const cuts = new Set<number>();
  const count = random.chance(0.1) ? random.range(10, 40) : random.range(0, 6);
  for (let i = 0; i < count; i++) cuts.add(random.int(length + 1));
  return [0, ...[...cuts].sort((a, b) => a - b), length];
}

function lastBoundary(boundaries: readonly number[], pos: number): number {
  let best = 0;
  for (const b of boundaries) if (b <= pos && b > best) best = b;
  return best;
}

/**
 * Feeds `stream` cut at `cuts` and checks the parser against the reference:
 * the same frames, `buffered` exact after every chunk, and the same error
 * class thrown in the chunk that holds the offending byte.
 */
function check(
  stream: Uint8Array,
  limits: Int32Array,
  cuts: readonly number[],
  context: string,
): void {
  const expected = reference(stream, limits);
  const got: Array<[number, Uint8Array]> = [];
  const maxLimit = Math.max(...limits);
  const parser = new FrameParser(limits, (kind, payload, owned) => {
    if (owned) {
      assertEquals(payload.byteOffset, HEADER_SIZE, context);
      assertEquals(payload.buffer.byteLength, HEADER_SIZE + payload.length);
      const head = new Uint8Array(payload.buffer, 0, HEADER_SIZE);
      assertEquals(head[0], kind, context);
      assertEquals(readU32(head, 1), payload.length, context);
    }
    got.push([kind, payload.slice()]);
  });
  // Chunks arrive through one reused read buffer, scribbled over after each
  // parse: the parser must copy whatever it keeps between chunks.
  const scratch = new Uint8Array(stream.length);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i]!;
    const to = cuts[i + 1]!;
    try {
      scratch.set(stream.subarray(from, to));
      parser.parse(scratch.subarray(0, to - from));
      scratch.fill(0xee);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw new Error(`${context}: threw a non-protocol error: ${error}`, {
          cause: error,
        });
      }
      const e = expected.error;
      assert(e !== null, `${context}: unexpected ${error.name} at ${to}`);
      const sameClass: boolean = error.constructor === e!.type;
      assert(sameClass, `${context}: ${error.name}, expected ${e!.type.name}`);
      assertEquals(error.code, e!.type === MalformedFrameError ? 1 : 2);
      assert(
        from < e!.at && e!.at <= to,
        `${context}: thrown in chunk ${from}..${to}, the offending byte is ${
          e!
            .at
        }`,
      );
      assert(parser.buffered <= HEADER_SIZE + maxLimit);
      assertEquals(got, expected.frames, context);
      return;
    }
    const buffered = parser.buffered;
    assertEquals(buffered, to - lastBoundary(expected.boundaries, to), context);
    assert(buffered <= HEADER_SIZE + maxLimit, context);
    if (buffered >= HEADER_SIZE) {
      // In the middle of a frame: bounded by that frame kind's own limit.
      const start = to - buffered;
      assert(buffered <= HEADER_SIZE + limits[stream[start]!]!, context);
    }
  }
  assert(
    expected.error === null || expected.error.at > stream.length,
    `${context}: expected ${expected.error?.type.name} at ${expected.error?.at}`,
  );
  assertEquals(got, expected.frames, context);
}

const DIRECTIONS = [
  ["request", REQUEST_LIMITS],
  ["reply", REPLY_LIMITS],
] as const;

Deno.test("fuzz: valid frame streams, split at random points", () => {
  for (const [name, limits] of DIRECTIONS) {
    const random = new Random(0x5eed_0001);
    for (let round = 0; round < 1500; round++) {
      const g = generate(random, limits);
      const expected = reference(g.stream, limits);
      assertEquals(expected.error, null);
      assertEquals(expected.frames.length, g.starts.length);
      check(
        g.stream,
        limits,
        randomCuts(random, g.stream.length),
        `${name} round ${round}`,
      );
    }
  }
});

Deno.test("fuzz: mutated frame streams, split at random points", () => {
  let errors = 0;
  let clean = 0;
  for (const [name, limits] of DIRECTIONS) {
    const random = new Random(0x5eed_0002);
    for (let round = 0; round < 4000; round++) {
      const g = generate(random, limits);
      let stream = g.stream;
      const times = random.range(1, 3);
      for (let i = 0; i < times; i++) {
        stream = mutate(random, { stream, starts: g.starts }, limits);
      }
      const context = `${name} round ${round}`;
      if (reference(stream, limits).error === null) clean++;
      else errors++;
      check(stream, limits, randomCuts(random, stream.length), context);
    }
  }
  // The mutations must exercise both outcomes, not just one.
  assert(errors > 1000, `only ${errors} streams failed`);
  assert(clean > 1000, `only ${clean} streams parsed cleanly`);
});

Deno.test("fuzz: random bytes, split at random points", () => {
  for (const [name, limits] of DIRECTIONS) {
    const random = new Random(0x5eed_0003);
    for (let round = 0; round < 3000; round++) {
      // Bias toward accepted kinds so that some of the noise parses.
      const stream = random.bytes(random.range(0, 64));
      if (stream.length > 0 && random.chance(0.5)) {
        stream[0] = random.pick(acceptedKinds(limits));
        if (stream.length >= 5 && random.chance(0.5)) {
          stream[1] = stream[2] = 0;
          stream[3] = 0;
        }
      }
      check(
        stream,
        limits,
        randomCuts(random, stream.length),
        `${name} noise ${round}`,
      );
    }
  }
});

Deno.test("fuzz: streams fed one byte at a time", () => {
  for (const [name, limits] of DIRECTIONS) {
    const random = new Random(0x5eed_0004);
    for (let round = 0; round < 200; round++) {
      const g = generate(random, limits);
      const stream = random.chance(0.5) ? mutate(random, g, limits) : g.stream;
      if (stream.length > 20_000) continue;
      const cuts = Array.from({ length: stream.length + 1 }, (_, i) => i);
      check(stream, limits, cuts, `${name} bytewise ${round}`);
    }
  }
});

Deno.test("fuzz: the reference model agrees with hand-made cases", () => {
  // Guards the fuzzer's own oracle against drifting from the spec.
  const relayZero = new Uint8Array([4, 0, 0, 0, 9, 0]);
  assertEquals(reference(relayZero, REQUEST_LIMITS).error, {
    type: MalformedFrameError,
    at: 6,
  });
  const tooLong = new Uint8Array([1, 0xff, 0xff, 0xff, 0xff]);
  assertEquals(reference(tooLong, REQUEST_LIMITS).error, {
    type: FrameTooLargeError,
    at: 5,
  });
  const unknown = new Uint8Array([0x81, 0, 0, 0, 0]);
  assertEquals(reference(unknown, REQUEST_LIMITS).error, {
    type: MalformedFrameError,
    at: 5,
  });
  const two = new Uint8Array([2, 0, 0, 0, 0, 6, 0, 0, 0, 0, 1, 0]);
  const expected = reference(two, REQUEST_LIMITS);
  assertEquals(expected.frames.length, 2);
  assertEquals(expected.boundaries, [0, 5, 10]);
  assertEquals(expected.error, null);
});
