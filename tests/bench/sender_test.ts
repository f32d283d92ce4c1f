/**
 * The send loop's writes and stamps, against a wire that records what it is
 * given: no server, no clock assertions.
 */
import { assert, assertEquals } from "../_assert.ts";
import { encodeRelay } from "../../protocol/mod.ts";
import type { Peer } from "../../bench/driver.ts";
import { FrameWalker } from "../../bench/frame_walker.ts";
import type { Workload } from "../../bench/presets.ts";
import {
  BATCH_BYTES,
  type Flow,
  MIN_WRITES,
  sendLoop,
  Signal,
  type Tracked,
} from "../../bench/sender.ts";
import { readStamp, STAMP_BYTES } from "../../bench/stamp.ts";
import { LatencyHistogram } from "../../bench/stats.ts";
import type { Wire } from "../../bench/wire.ts";

/** Sends `count` messages of `size` bytes through a recording wire. */
async function record(count: number, size: number) {
  const writes: Uint8Array[] = [];
  const wire: Wire = {
    transport: "tcp",
    read: () => Promise.resolve(null),
    unwrap: () => false,
    write(bytes) {
      writes.push(bytes.slice());
      return Promise.resolve();
    },
    close() {},
  };
  const peer: Peer = {
    wire,
    walker: new FrameWalker(new LatencyHistogram(), 0),
  };
  const message = encodeRelay([2n], new Uint8Array(size));
  const stampOffset = message.length - size;
  const sender: Tracked = { peer, alive: true, sent: 0, writes: 0 };
  const workload: Workload = {
    senders: 1,
    receivers: 1,
    size,
    count,
    durationMs: 5000,
    rate: 0,
    window: 0,
  };
  const flow: Flow = {
    t0: performance.now(),
    lastDelivery: 0,
    signal: new Signal(),
    stalled: false,
    stampLength: STAMP_BYTES,
  };
  await sendLoop({
    link: { sender: peer, receivers: [], message, stampOffset },
    sender,
    receivers: [],
    workload,
    flow,
  });
  return { writes, sender, message, stampOffset };
}

Deno.test("a 1,000-message run is not one write: its samples do not share one send time", async () => {
  // The reported bug: `msghub bench --count 1000` wrote its 1,000 128-byte
  // relays as one 256 KiB batch, so every message carried the same stamp,
  // arrived in one or two reads, and p50 = p99 = max.
  const { writes, sender, message } = await record(1000, 128);
  assert(1000 * message.length < BATCH_BYTES, "it would fit in one batch");
  assertEquals(sender.sent, 1000);
  assertEquals(sender.writes, writes.length);
  assertEquals(writes.length, Math.min(1000, MIN_WRITES));
  assertEquals(
    writes.reduce((n, w) => n + w.length, 0),
    1000 * message.length,
  );
});

Deno.test("every message of a write carries that write's stamp", async () => {
  const { writes, message, stampOffset } = await record(250_000, 128);
  assertEquals(writes.length, MIN_WRITES, "250 messages a write");
  for (const write of writes) {
    const first = readStamp(write, stampOffset, STAMP_BYTES);
    for (let at = 0; at < write.length; at += message.length) {
      assertEquals(readStamp(write, at + stampOffset, STAMP_BYTES), first);
    }
  }
});

Deno.test("a long counted run still writes full 256 KiB batches", async () => {
  const size = 128;
  const message = encodeRelay([2n], new Uint8Array(size));
  const full = Math.floor(BATCH_BYTES / message.length) * message.length;
  // Enough messages that the 1,000-write floor does not shrink the batch.
  const { writes } = await record(1000 * (BATCH_BYTES / message.length), size);
  assertEquals(writes[0]!.length, full);
});
