import { assert, assertEquals, assertStrictEquals } from "../_assert.ts";
import {
  ARENA_CHUNK,
  type ByteSink,
  OutboundArena,
  OutboundQueue,
  SEGMENT_COST,
} from "../../protocol/mod.ts";
import { mulberry32 } from "../_random.ts";

/** A write the test resolves by hand, with what it was asked to write. */
interface PendingWrite {
  view: Uint8Array;
  /** A copy taken when write was called: the view must still match it. */
  copy: Uint8Array;
  resolve(count: number): void;
  reject(error: unknown): void;
}

/** A sink whose writes stay pending until the test settles them. */
class ManualSink implements ByteSink {
  calls: PendingWrite[] = [];
  #waiters: Array<() => void> = [];

  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.calls.push({ view: p, copy: p.slice(), resolve, reject });
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** Resolves with write call number `index` once it is made. */
  async call(index: number): Promise<PendingWrite> {
    while (this.calls.length <= index) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.calls[index]!;
  }
}

/**
 * A sink that completes every write on its own, after a macrotask, writing
 * at most `max(p.length)` bytes; it checks each buffer is unchanged when the
 * write completes.
 */
class AutoSink implements ByteSink {
  written: Uint8Array[] = [];
  writes: Uint8Array[] = [];
  #max: (length: number) => number;

  constructor(max: (length: number) => number = (n) => n) {
    this.#max = max;
  }

  write(p: Uint8Array): Promise<number> {
    const copy = p.slice();
    this.writes.push(p);
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if (!equal(p, copy)) {
          reject(new Error("A buffer changed while its write was pending"));
          return;
        }
        const count = Math.max(1, Math.min(p.length, this.#max(p.length)));
        this.written.push(p.slice(0, count));
        resolve(count);
      }, 0);
    });
  }

  get bytes(): Uint8Array {
    return concat(this.written);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A region of `arena` filled with a pattern derived from `seed`. */
function frame(arena: OutboundArena, size: number, seed: number): Uint8Array {
  const region = arena.reserve(size);
  for (let i = 0; i < size; i++) region[i] = (seed * 13 + i * 7) & 0xff;
  return region;
}

function own(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (seed * 29 + i * 3) & 0xff;
  return out;
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// --- OutboundArena -----------------------------------------------------------

Deno.test("arena: successive regions lie back to back in one buffer", () => {
  const arena = new OutboundArena();
  const a = arena.reserve(5);
  const b = arena.reserve(13);
  const c = arena.reserve(1);
  assertEquals([a.length, b.length, c.length], [5, 13, 1]);
  assertStrictEquals(a.buffer, b.buffer);
  assertStrictEquals(b.buffer, c.buffer);
  assertEquals(b.byteOffset, a.byteOffset + 5);
  assertEquals(c.byteOffset, b.byteOffset + 13);
  assertEquals(a.buffer.byteLength, ARENA_CHUNK);
});

Deno.test("arena: regions never overlap, across chunk changes", () => {
  const random = mulberry32(7);
  for (const chunkSize of [64, 1000, 4096, ARENA_CHUNK]) {
    const arena = new OutboundArena(chunkSize);
    const regions: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const size = random() < 0.02
        ? Math.floor(random() * 100_000)
        : Math.floor(random() * 300);
      const region = arena.reserve(size);
      assertEquals(region.length, size);
      region.fill(i & 0xff);
      regions.push(region);
    }
    regions.forEach((region, i) => {
      assert(region.every((b) => b === (i & 0xff)), `region ${i} was reused`);
    });
    // And no two regions of one buffer intersect.
    const byBuffer = new Map<ArrayBufferLike, Array<[number, number]>>();
    for (const r of regions) {
      if (r.length === 0) continue;
      const list = byBuffer.get(r.buffer) ?? [];
      list.push([r.byteOffset, r.byteOffset + r.length]);
      byBuffer.set(r.buffer, list);
    }
    for (const list of byBuffer.values()) {
      list.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < list.length; i++) {
        assert(list[i - 1]![1] <= list[i]![0], "regions overlap");
      }
    }
  }
});

Deno.test("arena: a full chunk is replaced, not wrapped around", () => {
  const arena = new OutboundArena(100);
  const first = arena.reserve(60);
  const second = arena.reserve(60);
  assert(first.buffer !== second.buffer);
  assertEquals(second.byteOffset, 0);
  const third = arena.reserve(40);
  assertStrictEquals(third.buffer, second.buffer);
  assertEquals(third.byteOffset, 60);
  // Larger than a chunk: a chunk of its own size.
  const big = arena.reserve(500);
  assertEquals(big.length, 500);
  assert(big.buffer !== third.buffer);
});

Deno.test("arena: large frames get a buffer of their own", () => {
  const arena = new OutboundArena();
  const small = arena.reserve(10);
  const large = arena.reserve(ARENA_CHUNK / 2);
  assertEquals(large.byteOffset, 0);
  assertEquals(large.buffer.byteLength, ARENA_CHUNK / 2);
  // The arena's chunk was not used up by it.
  const next = arena.reserve(10);
  assertStrictEquals(next.buffer, small.buffer);
  assertEquals(next.byteOffset, small.byteOffset + 10);
  const huge = arena.reserve(ARENA_CHUNK * 2);
  assertEquals(huge.length, ARENA_CHUNK * 2);
});

// --- OutboundQueue: order and coalescing -------------------------------------

Deno.test("queue: the first push schedules one flush; adjacent regions leave as one view", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  const arena = new OutboundArena();
  const a = frame(arena, 5, 1);
  const b = frame(arena, 13, 2);
  const c = frame(arena, 8, 3);
  queue.push(a);
  queue.push(b);
  queue.push(c);
  assertEquals(sink.calls.length, 0, "the write waits for a microtask");
  assertEquals(queue.writing, false);
  assertEquals(queue.queued, 26);
  const write = await sink.call(0);
  assertEquals(queue.writing, true);
  assertEquals(write.view.length, 26);
  assertStrictEquals(write.view.buffer, a.buffer, "no copy was made");
  assertEquals(write.view.byteOffset, a.byteOffset);
  assertEquals(write.copy, concat([a, b, c]));
  write.resolve(26);
  await queue.drained();
  assertEquals(sink.calls.length, 1);
  assertEquals(queue.queued, 0);
  assertEquals(queue.writing, false);
});

Deno.test("queue: order is kept across buffers, sizes and coalescing", async () => {
  const random = mulberry32(11);
  const sink = new AutoSink();
  const queue = new OutboundQueue(sink);
  const arena = new OutboundArena(64 * 1024);
  const pushed: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const r = random();
    const size = r < 0.01
      ? 300_000
      : r < 0.1
      ? 5000
      : 1 + Math.floor(random() * 60);
    const bytes = random() < 0.7 ? frame(arena, size, i) : own(size, i);
    // Now and then the same frame twice, as a relay to a client named twice.
    queue.push(bytes);
    pushed.push(bytes);
    if (random() < 0.02) {
      queue.push(bytes);
      pushed.push(bytes);
    }
    if (random() < 0.05) await tick();
  }
  await queue.drained();
  assertEquals(sink.bytes, concat(pushed));
  assert(sink.writes.length < pushed.length, "small frames were joined");
  assertEquals(queue.queued, 0);
});

Deno.test("queue: a large frame is written as its own view, not copied", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  const big = own(1_000_000, 1);
  const small = own(10, 2);
  queue.push(small);
  queue.push(big);
  const first = await sink.call(0);
  assertEquals(first.copy, small);
  first.resolve(small.length);
  const second = await sink.call(1);
  assertStrictEquals(second.view.buffer, big.buffer);
  second.resolve(big.length);
  await queue.drained();
});

Deno.test("queue: pushes while a write is in flight go out next, in order", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  const arena = new OutboundArena();
  const a = frame(arena, 10, 1);
  queue.push(a);
  const first = await sink.call(0);
  const b = frame(arena, 10, 2);
  const c = own(7, 3);
  const d = frame(arena, 3, 4);
  queue.push(b);
  queue.push(c);
  queue.push(d);
  assertEquals(queue.queued, 30);
  assertEquals(sink.calls.length, 1, "one write in flight at a time");
  first.resolve(10);
  const second = await sink.call(1);
  assertEquals(second.copy, concat([b, c, d]));
  assertEquals(queue.queued, 20);
  second.resolve(20);
  await queue.drained();
  assertEquals(queue.queued, 0);
});

Deno.test("queue: a region adjacent to the one in flight is not merged into it", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  const arena = new OutboundArena();
  const a = frame(arena, 10, 1);
  queue.push(a);
  const first = await sink.call(0);
  const b = frame(arena, 10, 2);
  queue.push(b);
  assertEquals(first.view.length, 10);
  first.resolve(10);
  const second = await sink.call(1);
  assertEquals(second.copy, b);
  second.resolve(10);
  await queue.drained();
});

Deno.test("queue: empty pushes are ignored", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  queue.push(new Uint8Array(0));
  assertEquals(queue.queued, 0);
  await queue.drained();
  await tick();
  assertEquals(sink.calls.length, 0);
});

// --- Partial writes --------------------------------------------------------------

Deno.test("queue: partial writes continue where the sink stopped", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  const data = own(100, 5);
  queue.push(data);
  let offset = 0;
  let index = 0;
  for (const count of [1, 30, 2, 60, 7]) {
    const write = await sink.call(index++);
    assertEquals(write.copy, data.subarray(offset), `write ${index}`);
    assertEquals(queue.progress, index - 1);
    assertEquals(queue.writing, true);
    assert(queue.queued >= data.length - offset);
    write.resolve(count);
    offset += count;
  }
  await queue.drained();
  assertEquals(offset, 100);
  assertEquals(queue.progress, 5);
  assertEquals(queue.queued, 0);
  assertEquals(sink.calls.length, 5);
});

Deno.test("queue: random partial writes with interleaved pushes deliver every byte in order", async () => {
  const random = mulberry32(23);
  const sink = new AutoSink((n) =>
    1 + Math.floor(random() * Math.min(n, 5000))
  );
  const queue = new OutboundQueue(sink);
  const arena = new OutboundArena(16 * 1024);
  const pushed: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) {
    const size = 1 + Math.floor(random() * (random() < 0.1 ? 20_000 : 200));
    const bytes = random() < 0.8 ? frame(arena, size, i) : own(size, i);
    queue.push(bytes);
    pushed.push(bytes);
    if (random() < 0.3) await tick();
  }
  await queue.drained();
  assertEquals(sink.bytes, concat(pushed));
  assertEquals(queue.progress, sink.writes.length);
});

// --- Buffers in flight are left alone -----------------------------------------

Deno.test("queue: a buffer handed to write is unchanged until its write resolves", async () => {
  const random = mulberry32(99);
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  const arena = new OutboundArena(4096);
  const pushed: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  let seed = 0;
  const pushSome = () => {
    const count = Math.floor(random() * 6);
    for (let i = 0; i < count; i++) {
      const size = 1 + Math.floor(random() * (random() < 0.1 ? 3000 : 100));
      const bytes = frame(arena, size, seed++);
      queue.push(bytes);
      pushed.push(bytes);
    }
  };
  pushSome();
  pushSome();
  let index = 0;
  for (let round = 0; round < 150 || queue.queued > 0; round++) {
    if (queue.queued === 0) {
      pushSome();
      if (queue.queued === 0) continue;
    }
    const write = await sink.call(index++);
    // Meanwhile the arena hands out (and the test scribbles over) new regions.
    for (let i = 0; i < 5; i++) {
      arena.reserve(1 + Math.floor(random() * 500)).fill(0xee);
    }
    pushSome();
    await tick();
    assertEquals(
      write.view,
      write.copy,
      `write ${index} changed while pending`,
    );
    const count = random() < 0.5
      ? write.view.length
      : 1 + Math.floor(random() * write.view.length);
    received.push(write.view.slice(0, count));
    write.resolve(count);
    // `queued` drops once the queue has seen the write complete.
    await tick();
  }
  await queue.drained();
  assertEquals(concat(received), concat(pushed));
});

// --- drained, close and errors ----------------------------------------------------

Deno.test("queue: drained resolves at once when idle, else when all is written", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  await queue.drained();
  queue.push(own(10, 1));
  let done = 0;
  const waiters = [queue.drained(), queue.drained()].map((p) =>
    p.then(() => done++)
  );
  const first = await sink.call(0);
  await tick();
  assertEquals(done, 0);
  first.resolve(4);
  await tick();
  assertEquals(done, 0, "not drained after a partial write");
  (await sink.call(1)).resolve(6);
  await Promise.all(waiters);
  assertEquals(done, 2);
});

Deno.test("queue: close drops what is queued and lets the write in flight finish", async () => {
  const sink = new ManualSink();
  let errors = 0;
  const queue = new OutboundQueue(sink, { onError: () => errors++ });
  queue.push(own(10, 1));
  const first = await sink.call(0);
  queue.push(own(20, 2));
  const drained = queue.drained();
  queue.close();
  assertEquals(queue.closed, true);
  assertEquals(queue.queued, 0);
  await drained;
  queue.push(own(5, 3));
  assertEquals(queue.queued, 0, "pushes after close are dropped");
  assertEquals(queue.writing, true, "the write in flight is not abandoned");
  const settled = queue.settled();
  first.resolve(10);
  await settled;
  assertEquals(queue.writing, false);
  await tick();
  assertEquals(sink.calls.length, 1, "nothing is written after close");
  assertEquals(errors, 0);
  await queue.drained();
  queue.close();
});

Deno.test("queue: close before the first flush writes nothing", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  queue.push(own(10, 1));
  queue.close();
  await tick();
  assertEquals(sink.calls.length, 0);
  assertEquals(queue.writing, false);
  await queue.settled();
});

Deno.test("queue: a rejected write calls onError once and closes the queue", async () => {
  const sink = new ManualSink();
  const errors: unknown[] = [];
  const queue = new OutboundQueue(sink, {
    onError: (error) => errors.push(error),
  });
  queue.push(own(10, 1));
  const first = await sink.call(0);
  queue.push(own(10, 2));
  const drained = queue.drained();
  const settled = queue.settled();
  const boom = new Error("connection reset");
  first.resolve(3);
  const second = await sink.call(1);
  second.reject(boom);
  await drained;
  await settled;
  assertEquals(errors, [boom]);
  assertEquals(queue.closed, true);
  assertEquals(queue.queued, 0);
  assertEquals(queue.writing, false);
  queue.push(own(10, 3));
  await tick();
  assertEquals(sink.calls.length, 2, "no write after the failure");
  assertEquals(errors.length, 1);
});

Deno.test("queue: a sink that throws synchronously is handled like a rejection", async () => {
  const errors: unknown[] = [];
  let calls = 0;
  const queue = new OutboundQueue({
    write(): Promise<number> {
      calls++;
      throw new TypeError("bad resource");
    },
  }, (error) => errors.push(error));
  queue.push(own(10, 1));
  queue.push(own(10, 2));
  await queue.drained();
  await queue.settled();
  assertEquals(calls, 1);
  assertEquals(errors.length, 1);
  assert(errors[0] instanceof TypeError);
  assertEquals(queue.closed, true);
});

Deno.test("queue: a rejecting sink without onError leaves no unhandled rejection", async () => {
  const queue = new OutboundQueue({
    write: () => Promise.reject(new Error("gone")),
  });
  queue.push(own(3, 1));
  await queue.drained();
  await tick();
  assertEquals(queue.closed, true);
});

Deno.test("queue: progress counts completed writes", async () => {
  const sink = new ManualSink();
  const queue = new OutboundQueue(sink);
  assertEquals(queue.progress, 0);
  queue.push(own(6, 1));
  (await sink.call(0)).resolve(2);
  (await sink.call(1)).resolve(2);
  (await sink.call(2)).resolve(2);
  await queue.drained();
  assertEquals(queue.progress, 3);
  queue.push(own(1, 2));
  (await sink.call(3)).resolve(1);
  await queue.drained();
  assertEquals(queue.progress, 4);
});

// --- OutboundQueue: the slow-consumer bound ---------------------------------

Deno.test("queue: waits below a threshold share one promise; ranges count in the footprint", async () => {
  let release!: (n: number) => void;
  const queue = new OutboundQueue({
    write: (p) =>
      new Promise<number>((resolve) => release = () => resolve(p.length)),
  });
  const arena = new OutboundArena();
  queue.push(new Uint8Array(100));
  queue.push(arena.reserve(50));
  queue.push(new Uint8Array(10));
  assertEquals(queue.queued, 160);
  assertEquals(queue.footprint, 160 + 3 * SEGMENT_COST);
  const a = queue.below(20);
  assertStrictEquals(queue.below(20), a);
  await Promise.resolve();
  while (queue.queued > 20) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    release(0);
  }
  await a;
  assert(queue.queued <= 20);
});

Deno.test("queue: fits, pressed and below all measure the footprint against the limit", async () => {
  const sink = new ManualSink();
  const limit = 1000;
  const queue = new OutboundQueue(sink, { limit });
  assertEquals(queue.limit, limit);
  assertEquals(queue.mark, 500);
  // An empty queue takes exactly the limit, not a byte more.
  assert(queue.fits(limit));
  assert(!queue.fits(limit + 1));
  queue.push(own(400, 1));
  // 400 bytes and one range: the range's cost counts too.
  assertEquals(queue.footprint, 400 + SEGMENT_COST);
  assert(queue.fits(limit - 400 - SEGMENT_COST));
  assert(!queue.fits(limit - 400 - SEGMENT_COST + 1));
  assert(!queue.pressed, "400 + 64 is not past the mark");
  queue.push(own(100, 2));
  // 500 bytes queued, under the mark by bytes, past it by footprint.
  assertEquals(queue.queued, 500);
  assert(queue.pressed, "the ranges' cost counts against the mark");
  let below = false;
  const waiting = queue.below(queue.mark).then(() => below = true);
  assertEquals(below, false);
  // The two small ranges leave in one write; taken for writing, they no
  // longer cost a range each, and the queue is no longer pressed.
  const write = await sink.call(0);
  assertEquals(write.view.length, 500);
  assertEquals(queue.footprint, 500);
  assert(!queue.pressed);
  write.resolve(500);
  await waiting;
  assertEquals(queue.footprint, 0);
});

Deno.test("queue: without a limit everything fits and nothing presses", () => {
  const queue = new OutboundQueue(new ManualSink());
  assertEquals(queue.limit, Infinity);
  queue.push(own(10_000_000, 1));
  assert(queue.fits(Number.MAX_SAFE_INTEGER));
  assert(!queue.pressed);
  queue.close();
});

Deno.test("queue: the positional form (sink, onError, pool) still works", async () => {
  const errors: unknown[] = [];
  const queue = new OutboundQueue(
    { write: () => Promise.reject(new Error("gone")) },
    (error) => errors.push(error),
    null,
  );
  queue.push(own(3, 1));
  await queue.drained();
  await tick();
  assertEquals(errors.length, 1);
  assertEquals(queue.limit, Infinity);
});
