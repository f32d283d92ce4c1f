/**
 * Runs of relays: consecutive relays of one read that name the same
 * receivers are queued together. What each client receives must be exactly
 * what relaying them one by one gives.
 */
import { assert, assertEquals } from "../_assert.ts";
import {
  BufferPool,
  deliverSize,
  encodeEcho,
  encodeFrame,
  encodeRelay,
  ErrorCode,
  FrameParser,
  Kind,
  MAX_OUTBOUND_FRAME,
  OutboundArena,
  OutboundQueue,
  REPLY_LIMITS,
} from "../../protocol/mod.ts";
import { HubCounters, serve } from "../../hub/mod.ts";
import { Fanout, type Peer } from "../../hub/_fanout.ts";
import { Dialect, Registry } from "../../hub/registry.ts";
import { RawClient, u64 } from "../_helpers.ts";

const IDENTITY = encodeFrame(Kind.Identity);

async function connect(port: number, count: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await RawClient.connect(port);
    await client.send(IDENTITY);
    assertEquals((await client.frame()).kind, Kind.IdentityReply);
    clients.push(client);
  }
  return clients;
}

function join(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

function numbered(seq: number, size = 8): Uint8Array {
  const body = new Uint8Array(size);
  new DataView(body.buffer).setUint32(0, seq);
  return body;
}

function seqOf(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset).getUint32(8);
}

Deno.test("runs: mixed relays, echoes, receipts and self-relays in one write arrive as one by one", async () => {
  await using hub = await serve({ port: 0 });
  // Ids 1 (the sender), 2 and 3.
  const [sender, b, c] = await connect(hub.addr.port, 3) as [
    RawClient,
    RawClient,
    RawClient,
  ];
  try {
    const frames: Uint8Array[] = [];
    const expected = new Map<bigint, Array<number | string>>([
      [1n, []],
      [2n, []],
      [3n, []],
    ]);
    const plan: Array<{ ids: bigint[]; receipted?: boolean; echo?: boolean }> =
      [];
    for (let i = 0; i < 40; i++) plan.push({ ids: [2n] });
    for (let i = 0; i < 30; i++) plan.push({ ids: [2n, 3n] });
    plan.push({ ids: [3n, 2n] });
    plan.push({ ids: [2n, 3n, 3n] });
    plan.push({ ids: [2n], echo: true });
    for (let i = 0; i < 10; i++) plan.push({ ids: [2n, 99n] });
    plan.push({ ids: [2n], receipted: true });
    for (let i = 0; i < 10; i++) plan.push({ ids: [1n, 3n] });
    plan.push({ ids: [1n], echo: true });
    for (let i = 0; i < 5; i++) plan.push({ ids: [1n] });
    for (let i = 0; i < 300; i++) plan.push({ ids: i % 7 < 4 ? [3n] : [2n] });
    plan.forEach((step, seq) => {
      if (step.echo) {
        frames.push(encodeEcho(numbered(seq)));
        expected.get(1n)!.push(`echo ${seq}`);
        return;
      }
      frames.push(encodeRelay(step.ids, numbered(seq), step.receipted));
      for (const id of new Set(step.ids)) expected.get(id)?.push(seq);
      if (step.receipted) expected.get(1n)!.push("receipt");
    });
    await sender.send(join(frames));
    const read = async (client: RawClient, id: bigint) => {
      const got: Array<number | string> = [];
      const want = expected.get(id)!;
      while (got.length < want.length) {
        const frame = await client.frame();
        if (frame.kind === Kind.Deliver) {
          assertEquals(u64(frame.payload), 1n);
          got.push(seqOf(frame.payload));
        } else if (frame.kind === Kind.EchoReply) {
          const view = new DataView(
            frame.payload.buffer,
            frame.payload.byteOffset,
          );
          got.push(`echo ${view.getUint32(0)}`);
        } else if (frame.kind === Kind.RelayReceipt) {
          assertEquals([...frame.payload], [1, 0]);
          got.push("receipt");
        } else throw new Error(`Unexpected kind ${frame.kind}`);
      }
      assertEquals(got, want);
    };
    await Promise.all([read(sender, 1n), read(b, 2n), read(c, 3n)]);
    const counters = hub.metrics().counters;
    const deliveries = [...expected.values()].reduce(
      (n, list) => n + list.filter((x) => typeof x === "number").length,
      0,
    );
    assertEquals(counters.deliveries, deliveries);
    assertEquals(counters.relays, plan.filter((s) => !s.echo).length);
    assertEquals(counters.unknownReceivers, 10);
  } finally {
    for (const client of [sender, b, c]) client.close();
  }
});

Deno.test("runs: a receiver that passes its limit in a run gets a prefix, in order, then its error", async () => {
  const maxPending = MAX_OUTBOUND_FRAME;
  // The fast reader is a test process on a shared machine: give the sender
  // room to wait for it (the stall), so only the reader that never reads is cut.
  await using hub = await serve({
    port: 0,
    maxPending,
    maxStall: 2_000,
    logger: () => {},
  });
  const [sender, fast, slow] = await connect(hub.addr.port, 3) as [
    RawClient,
    RawClient,
    RawClient,
  ];
  // Far more than the kernel's buffers and the limit hold, in big writes,
  // so that the hub reads long runs to both receivers.
  const count = 30_000;
  const sending = (async () => {
    for (let seq = 0; seq < count; seq += 1000) {
      const frames: Uint8Array[] = [];
      for (let i = seq; i < seq + 1000; i++) {
        frames.push(encodeRelay([2n, 3n], numbered(i, 1000)));
      }
      await sender.send(join(frames));
    }
  })();
  try {
    for (let seq = 0; seq < count; seq++) {
      const frame = await fast.frame();
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(seqOf(frame.payload), seq);
    }
    await sending;
    let got = 0;
    while (true) {
      const frame = await slow.frame();
      if (frame.kind === Kind.Error) {
        assertEquals(frame.payload[0], ErrorCode.SlowConsumer);
        break;
      }
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(seqOf(frame.payload), got);
      got++;
    }
    assert(got < count, "The slow receiver should have been cut off");
    assertEquals(hub.metrics().counters.deliveries, count + got);
  } finally {
    for (const client of [sender, fast, slow]) client.close();
    // A write cut short by the close is not the failure to report.
    await sending.catch(() => {});
  }
});

/**
 * A registered binary receiver as the relay path sees it, writing to a sink
 * that takes every byte: it keeps what it was sent, and is refused past its
 * queue's bound as a session is (closed as a slow consumer).
 */
class Receiver implements Peer {
  stamp = 0;
  pressure: Peer | null = null;
  readonly dialect = Dialect.Binary;
  readonly queue: OutboundQueue;
  /** Set once a send was refused for the bound. */
  cutOff = false;
  /** The ranges queued whole with their WebSocket header, as queued. */
  framed: Uint8Array[] = [];
  #written: Uint8Array[] = [];

  constructor(
    readonly id: number,
    limit: number,
    readonly transport: "tcp" | "ws" = "tcp",
  ) {
    this.queue = new OutboundQueue({
      write: (p) => {
        this.#written.push(p.slice());
        return Promise.resolve(p.length);
      },
    }, { limit });
  }

  sendRange(bytes: Uint8Array, start: number, end: number): boolean {
    if (this.cutOff) return false;
    if (!this.queue.fits(end - start)) {
      // A session sends its error after what is queued, then closes.
      this.cutOff = true;
      return false;
    }
    this.queue.pushRange(bytes, start, end);
    return true;
  }

  sendFramed(bytes: Uint8Array, start: number, end: number): boolean {
    assertEquals(this.transport, "ws", "framed ranges go to WebSocket clients");
    this.framed.push(bytes.slice(start, end));
    return this.sendRange(bytes, start, end);
  }

  send(bytes: Uint8Array): boolean {
    return this.sendRange(bytes, 0, bytes.length);
  }

  /** The sequence numbers of the DELIVER frames written so far. */
  async delivered(): Promise<number[]> {
    await this.queue.drained();
    const seqs: number[] = [];
    const parser = new FrameParser(REPLY_LIMITS, (kind, payload) => {
      assertEquals(kind, Kind.Deliver);
      assertEquals(u64(payload), 1n);
      seqs.push(seqOf(payload));
    });
    for (const chunk of this.#written) parser.parse(chunk);
    return seqs;
  }
}

Deno.test("runs: a run that passes a receiver's limit part way gives it exactly the frames that fit", async () => {
  const size = 100;
  const frame = deliverSize(size);
  // One range costs its bytes and one segment: three frames fit, not four.
  const limit = 3 * frame + 64 + frame - 1;
  const narrow = new Receiver(2, limit);
  const wide = new Receiver(3, 1 << 20);
  const sender = new Receiver(1, 1 << 20);
  const registry = new Registry<Peer>();
  registry.add(narrow);
  registry.add(wide);
  const pool = new BufferPool();
  const counters = new HubCounters();
  const fanout = new Fanout({
    registry,
    arena: new OutboundArena(1 << 20, pool),
    pool,
    counters,
  });
  // Ten relays in one chunk, as one read hands them over: one run.
  const relays = Array.from(
    { length: 10 },
    (_, seq) => encodeRelay([2n, 3n], numbered(seq, size)),
  );
  const chunk = join(relays);
  let at = 0;
  for (const relay of relays) {
    fanout.relayFrame(
      sender,
      chunk,
      at + 5,
      at + relay.length,
      false,
      false,
    );
    at += relay.length;
  }
  // Nothing is queued until the run ends.
  assertEquals(narrow.queue.queued + wide.queue.queued, 0);
  fanout.flush();
  assertEquals(await wide.delivered(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(await narrow.delivered(), [0, 1, 2]);
  assert(narrow.cutOff, "the narrow receiver was refused at the fourth frame");
  assertEquals(counters.relays, 10);
  assertEquals(counters.deliveries, 13);
});

Deno.test("runs: WebSocket receivers share one header written once before the run", async () => {
  const size = 100;
  const ws = [new Receiver(2, 1 << 20, "ws"), new Receiver(3, 1 << 20, "ws")];
  const tcp = new Receiver(4, 1 << 20);
  const sender = new Receiver(1, 1 << 20);
  const registry = new Registry<Peer>();
  for (const receiver of [...ws, tcp]) registry.add(receiver);
  const pool = new BufferPool();
  const fanout = new Fanout({
    registry,
    arena: new OutboundArena(1 << 20, pool),
    pool,
    counters: new HubCounters(),
  });
  const relays = Array.from(
    { length: 10 },
    (_, seq) => encodeRelay([2n, 3n, 4n], numbered(seq, size)),
  );
  const chunk = join(relays);
  let at = 0;
  for (const relay of relays) {
    fanout.relayFrame(sender, chunk, at + 5, at + relay.length, false, false);
    at += relay.length;
  }
  fanout.flush();
  const run = 10 * deliverSize(size);
  for (const receiver of ws) {
    // One message: FIN and binary, a 16-bit length, then the ten frames.
    assertEquals(receiver.framed.length, 1);
    const message = receiver.framed[0]!;
    assertEquals([...message.subarray(0, 4)], [
      0x82,
      126,
      run >> 8,
      run & 0xff,
    ]);
    assertEquals(message.length, 4 + run);
  }
  // The same bytes for both: written once, in the arena, before the run.
  assertEquals(ws[0]!.framed[0], ws[1]!.framed[0]);
  assertEquals(tcp.framed.length, 0);
  assertEquals(await tcp.delivered(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
