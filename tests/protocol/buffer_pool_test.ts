import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  BufferPool,
  type ByteSink,
  encodeEcho,
  encodeRelay,
  FrameParser,
  Kind,
  OutboundArena,
  OutboundQueue,
  POOL_MIN,
  REQUEST_LIMITS,
} from "../../protocol/mod.ts";
import { serve } from "../../hub/mod.ts";
import { hubInternals } from "../../hub/hub.ts";
import { RawClient, u64 } from "../_helpers.ts";
import { mulberry32 } from "../_random.ts";

/** A sink whose writes stay pending until the test settles them. */
class ManualSink implements ByteSink {
  calls: Array<{
    view: Uint8Array;
    resolve(count: number): void;
    reject(error: unknown): void;
  }> = [];

  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.calls.push({ view: p, resolve, reject });
    });
  }
}

/**
 * A sink that completes each write after a macrotask, at most `max` bytes at
 * a time, and fails the write if its buffer changed while it was pending.
 */
class CheckingSink implements ByteSink {
  parts: Uint8Array[] = [];
  #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  write(p: Uint8Array): Promise<number> {
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        for (let i = 0; i < p.length; i++) {
          if (p[i] !== copy[i]) {
            reject(new Error("A buffer changed while its write was pending"));
            return;
          }
        }
        const count = Math.min(p.length, this.#max);
        this.parts.push(p.slice(0, count));
        resolve(count);
      }, 0);
    });
  }

  get bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

function microtasks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// --- BufferPool --------------------------------------------------------------

Deno.test("pool: small buffers are plain allocations it does not track", () => {
  const pool = new BufferPool();
  const small = pool.take(POOL_MIN - 1);
  assertEquals(small.length, POOL_MIN - 1);
  assertEquals(pool.refs(small.buffer), -1);
  assertEquals(pool.retain(small.buffer), false);
  pool.release(small.buffer);
  assertEquals(pool.idleBytes, 0);
});

Deno.test("pool: a buffer is never handed out while anyone holds it", () => {
  const pool = new BufferPool();
  const a = pool.take(100_000);
  assertEquals(a.length, 100_000);
  assertEquals(pool.refs(a.buffer), 1);
  assert(pool.retain(a.buffer));
  assert(pool.retain(a.buffer));
  pool.release(a.buffer);
  pool.release(a.buffer);
  // One hold is left: a buffer of the same size must be another one.
  const b = pool.take(100_000);
  assert(b.buffer !== a.buffer);
  pool.release(a.buffer);
  assertEquals(pool.refs(a.buffer), 0);
  const c = pool.take(100_000);
  assert(c.buffer === a.buffer);
  assertEquals(pool.refs(c.buffer), 1);
  assertEquals(pool.reused, 1);
  // And not twice: the next one is new again.
  assert(pool.take(100_000).buffer !== a.buffer);
});

Deno.test("pool: sizes share a buffer when they round up to the same 64 KiB", () => {
  const pool = new BufferPool();
  const a = pool.take(POOL_MIN + 1);
  pool.release(a.buffer);
  const b = pool.take(2 * POOL_MIN);
  assert(b.buffer === a.buffer);
  assertEquals(b.length, 2 * POOL_MIN);
  pool.release(b.buffer);
  assert(pool.take(3 * POOL_MIN).buffer !== a.buffer);
});

Deno.test("pool: releasing more than was held throws instead of freeing twice", () => {
  const pool = new BufferPool();
  const a = pool.take(POOL_MIN);
  pool.release(a.buffer);
  assertThrows(() => pool.release(a.buffer), RangeError);
  assertThrows(() => pool.retain(a.buffer), RangeError);
});

Deno.test("pool: idle buffers past the cap are left to the garbage collector", () => {
  const pool = new BufferPool(POOL_MIN);
  const a = pool.take(POOL_MIN);
  const b = pool.take(POOL_MIN);
  pool.release(a.buffer);
  pool.release(b.buffer);
  assertEquals(pool.idleBytes, POOL_MIN);
  assertEquals(pool.refs(b.buffer), -1);
  assert(pool.take(POOL_MIN).buffer === a.buffer);
  assertEquals(pool.idleBytes, 0);
});

// --- OutboundQueue with a pool ----------------------------------------------

Deno.test("queue: a pooled buffer is held while queued and while its write is pending", async () => {
  const pool = new BufferPool();
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink, () => {}, pool);
  const frame = pool.take(POOL_MIN);
  frame.fill(7);
  queue.push(frame);
  pool.release(frame.buffer);
  assertEquals(pool.refs(frame.buffer), 1);
  await microtasks();
  assertEquals(sink.calls.length, 1);
  // Borrowed by the write: still held, so not handed out again.
  assertEquals(pool.refs(frame.buffer), 1);
  assert(pool.take(POOL_MIN).buffer !== frame.buffer);
  sink.calls[0]!.resolve(1000);
  await microtasks();
  // Partly written: the rest is written from the same buffer.
  assertEquals(sink.calls.length, 2);
  assertEquals(pool.refs(frame.buffer), 1);
  sink.calls[1]!.resolve(POOL_MIN - 1000);
  await queue.drained();
  assertEquals(pool.refs(frame.buffer), 0);
  assert(pool.take(POOL_MIN).buffer === frame.buffer);
});

Deno.test("queue: small pooled ranges joined by a copy are given back at once", async () => {
  const pool = new BufferPool();
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink, () => {}, pool);
  const first = new Uint8Array(10);
  queue.push(first);
  await microtasks();
  // While the first write is pending, two small ranges of pooled buffers.
  const a = pool.take(POOL_MIN);
  const b = pool.take(POOL_MIN);
  queue.pushRange(a, 0, 100);
  queue.pushRange(b, 0, 100);
  pool.release(a.buffer);
  pool.release(b.buffer);
  assertEquals(pool.refs(a.buffer), 1);
  sink.calls[0]!.resolve(10);
  await microtasks();
  // Joined into a buffer of the queue's own: the pooled ones are free.
  assertEquals(sink.calls[1]!.view.length, 200);
  assertEquals(pool.refs(a.buffer), 0);
  assertEquals(pool.refs(b.buffer), 0);
  sink.calls[1]!.resolve(200);
  await queue.drained();
});

Deno.test("queue: close gives back what is queued; the write in flight keeps its buffer until it settles", async () => {
  const pool = new BufferPool();
  const sink = new ManualSink();
  const errors: unknown[] = [];
  const queue = new OutboundQueue(sink, (e) => errors.push(e), pool);
  const a = pool.take(POOL_MIN);
  const b = pool.take(POOL_MIN);
  queue.push(a);
  await microtasks();
  queue.push(b);
  pool.release(a.buffer);
  pool.release(b.buffer);
  queue.close();
  assertEquals(pool.refs(b.buffer), 0);
  assertEquals(pool.refs(a.buffer), 1);
  sink.calls[0]!.reject(new Error("reset"));
  await queue.settled();
  assertEquals(pool.refs(a.buffer), 0);
  assertEquals(errors.length, 1);
});

Deno.test("arena with a pool: chunks are reused, never while a queue still holds a range of one", async () => {
  const random = mulberry32(7);
  const pool = new BufferPool();
  const arena = new OutboundArena(POOL_MIN, pool);
  const sinks = [new CheckingSink(300), new CheckingSink(100_000)];
  const queues = sinks.map((sink) => new OutboundQueue(sink, () => {}, pool));
  const expected: number[][] = [[], []];
  let seed = 0;
  // Twice: the second pass reuses what the first one's writes gave back.
  for (let round = 0; round < 600; round++) {
    if (round === 300) {
      await Promise.all(queues.map((queue) => queue.drained()));
    }
    const size = 1 + Math.floor(random() * 3000);
    const at = arena.claim(size);
    const chunk = arena.chunk;
    seed++;
    for (let i = 0; i < size; i++) chunk[at + i] = (seed * 31 + i) & 0xff;
    for (let q = 0; q < queues.length; q++) {
      if (random() < 0.7) {
        queues[q]!.pushRange(chunk, at, at + size);
        for (let i = 0; i < size; i++) {
          expected[q]!.push((seed * 31 + i) & 0xff);
        }
      }
    }
    if (random() < 0.3) await microtasks();
  }
  await Promise.all(queues.map((queue) => queue.drained()));
  for (let q = 0; q < queues.length; q++) {
    assertEquals(sinks[q]!.bytes, new Uint8Array(expected[q]!));
  }
  assert(pool.reused > 0, "Expected chunks to be reused");
});

Deno.test("parser with a pool: a split frame is built in a pooled buffer, whole", () => {
  const pool = new BufferPool();
  const frames: Array<{ owned: boolean; bytes: Uint8Array }> = [];
  const parser = FrameParser.ranges(
    REQUEST_LIMITS,
    (_kind, source, start, end, owned) => {
      frames.push({ owned, bytes: source.slice(start, end) });
      if (owned) pool.release(source.buffer);
    },
    { allocate: (size) => pool.take(size) },
  );
  const body = new Uint8Array(POOL_MIN * 2).map((_, i) => (i * 5) & 0xff);
  for (let round = 0; round < 3; round++) {
    const frame = encodeEcho(body);
    parser.parse(frame.subarray(0, 1000));
    parser.parse(frame.subarray(1000));
  }
  assertEquals(frames.length, 3);
  for (const frame of frames) {
    assert(frame.owned);
    assertEquals(frame.bytes, body);
  }
  assertEquals(pool.reused, 2);
});

// --- The hub -----------------------------------------------------------------

Deno.test("hub: pooled frames and chunks reach a slow and a fast receiver intact", async () => {
  await using hub = await serve({ port: 0 });
  const clients: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const client = await RawClient.connect(hub.addr.port);
    await client.send(new Uint8Array([Kind.Identity, 0, 0, 0, 0]));
    assertEquals((await client.frame()).kind, Kind.IdentityReply);
    clients.push(client);
  }
  const [sender, fast, slow] = clients as [RawClient, RawClient, RawClient];
  try {
    // Large bodies (pooled when split across reads) and runs of small ones
    // (arena chunks), each marked with its sequence number.
    const sizes: number[] = [];
    for (let i = 0; i < 24; i++) {
      sizes.push(i % 3 === 0 ? 100 + i : 70_000 + i * 9_000);
      if (i % 4 === 0) {
        for (let j = 0; j < 2000; j++) sizes.push(50 + j % 200);
      }
    }
    const body = (seq: number, size: number) => {
      const out = new Uint8Array(size);
      new DataView(out.buffer).setUint32(0, seq);
      for (let i = 4; i < size; i++) out[i] = (seq * 7 + i) & 0xff;
      return out;
    };
    const sending = (async () => {
      for (let seq = 0; seq < sizes.length; seq++) {
        await sender.send(encodeRelay([2n, 3n], body(seq, sizes[seq]!)));
      }
    })();
    const read = async (receiver: RawClient) => {
      for (let seq = 0; seq < sizes.length; seq++) {
        const frame = await receiver.frame(30_000);
        assertEquals(frame.kind, Kind.Deliver);
        assertEquals(u64(frame.payload), 1n);
        assertEquals(frame.payload.subarray(8), body(seq, sizes[seq]!));
      }
    };
    // The slow receiver starts once the fast one has everything, so its
    // queue holds buffers the whole time the others are reused.
    await read(fast);
    await read(slow);
    await sending;
    assert(
      hubInternals(hub).pool.reused > 0,
      "Expected pooled buffers to be reused",
    );
  } finally {
    for (const client of clients) client.close();
  }
});
