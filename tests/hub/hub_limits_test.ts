import { assert, assertEquals, assertLess } from "../_assert.ts";
import {
  encodeEcho,
  encodeFrame,
  encodeRelay,
  ErrorCode,
  Kind,
  MAX_BODY,
} from "../../protocol/mod.ts";
import { CloseReason, type HubLogger, serve } from "../../hub/mod.ts";
import { hubInternals } from "../../hub/hub.ts";
import { LogRecorder, RawClient, text, u64, waitFor } from "../_helpers.ts";

interface LogEvent {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function capture(): { events: LogEvent[]; logger: HubLogger } {
  const events: LogEvent[] = [];
  return {
    events,
    logger: (level, message, fields) => events.push({ level, message, fields }),
  };
}

function closes(events: LogEvent[], reason: string): LogEvent[] {
  return events.filter((e) =>
    e.message === "close" && e.fields.reason === reason
  );
}

async function registered(
  port: number,
): Promise<{ client: RawClient; id: bigint }> {
  const client = await RawClient.connect(port);
  await client.send(encodeFrame(Kind.Identity));
  return { client, id: u64((await client.frame()).payload) };
}

Deno.test("a receiver that never reads is dropped as a slow consumer; the others get everything", async () => {
  const { events, logger } = capture();
  const maxPending = 4 * 1024 * 1024;
  await using hub = await serve({ port: 0, maxPending, logger });
  const slow = await registered(hub.addr.port);
  const healthy = await registered(hub.addr.port);
  const sender = await registered(hub.addr.port);
  try {
    const body = new Uint8Array(MAX_BODY).fill(7);
    const count = 100;
    let peak = 0;
    const watching = setInterval(
      () =>
        peak = Math.max(
          peak,
          hubInternals(hub).clientStats(Number(slow.id))?.queued ?? 0,
        ),
      1,
    );
    // The sender paces itself on the healthy receiver, so that receiver is
    // never behind; the slow one falls behind by one body per relay.
    for (let i = 0; i < count; i++) {
      await sender.client.send(encodeRelay([slow.id, healthy.id], body));
      const frame = await healthy.client.frame(30_000);
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(frame.payload.length, 8 + MAX_BODY);
    }
    // The sender was never held back: its requests are still answered at once.
    await sender.client.send(
      encodeRelay([slow.id, healthy.id], new Uint8Array(1), true),
    );
    const receipt = await sender.client.frame(30_000);
    assertEquals(receipt.kind, Kind.RelayReceipt);
    assertEquals(
      receipt.payload[0],
      1,
      "only the healthy receiver is still registered",
    );
    assertEquals(receipt.payload[1], 1);
    assertEquals(u64(receipt.payload, 2), slow.id);
    assertEquals((await healthy.client.frame()).payload.length, 9);
    clearInterval(watching);
    const warning = events.find((e) => e.message === "slow consumer");
    if (warning === undefined) {
      throw new Error("No slow consumer warning was logged");
    }
    assert(Number(warning.fields.queued) <= maxPending);
    assert(
      peak <= maxPending + 13 + 64,
      `peak ${peak} stays within the bound and one ERROR frame`,
    );
    // What it finally reads is whole frames, then ERROR 3, then the end.
    let delivered = 0;
    while (true) {
      const frame = await slow.client.frame(30_000);
      if (frame.kind === Kind.Deliver) {
        assertEquals(frame.payload.length, 8 + MAX_BODY);
        delivered++;
        continue;
      }
      assertEquals(frame.kind, Kind.Error);
      assertEquals(frame.payload[0], ErrorCode.SlowConsumer);
      break;
    }
    assert(
      delivered < count,
      `the slow consumer got ${delivered} before being cut off`,
    );
    assert(await slow.client.closedByPeer());
    slow.client.close();
    await waitFor(
      () => closes(events, CloseReason.SlowConsumer).length === 1,
      "the slow consumer's close",
    );
  } finally {
    slow.client.close();
    healthy.client.close();
    sender.client.close();
  }
});

Deno.test("a receiver whose socket makes no progress is closed at the write timeout", async () => {
  const { events, logger } = capture();
  await using hub = await serve({
    port: 0,
    maxPending: 256 * 1024 * 1024,
    writeTimeout: 300,
    logger,
  });
  const stuck = await registered(hub.addr.port);
  const sender = await registered(hub.addr.port);
  try {
    const body = new Uint8Array(MAX_BODY);
    for (let i = 0; i < 40; i++) {
      await sender.client.send(encodeRelay([stuck.id], body));
    }
    await waitFor(
      () => closes(events, CloseReason.SlowConsumer).length === 1,
      "the stalled receiver's close",
    );
    await waitFor(
      () => hub.stats.connections === 1,
      "only the sender to remain",
    );
    await sender.client.send(encodeFrame(Kind.List));
    assertEquals((await sender.client.frame()).payload.length, 0);
  } finally {
    stuck.client.close();
    sender.client.close();
  }
});

Deno.test("a silent binary client gets two PINGs, then ERROR 5; one that answers stays", async () => {
  const { events, logger } = capture();
  await using hub = await serve({ port: 0, pingInterval: 100, logger });
  const silent = await registered(hub.addr.port);
  const lively = await registered(hub.addr.port);
  try {
    const answering = (async () => {
      for (let i = 0; i < 4; i++) {
        const frame = await lively.client.frame();
        assertEquals(frame.kind, Kind.Ping);
        await lively.client.send(encodeFrame(Kind.Pong));
      }
    })();
    assertEquals((await silent.client.frame()).kind, Kind.Ping);
    assertEquals((await silent.client.frame()).kind, Kind.Ping);
    const error = await silent.client.frame();
    assertEquals(error.kind, Kind.Error);
    assertEquals(error.payload[0], ErrorCode.Timeout);
    assert(await silent.client.closedByPeer());
    await answering;
    await lively.client.send(
      encodeEcho(new TextEncoder().encode("still here")),
    );
    let reply = await lively.client.frame();
    while (reply.kind === Kind.Ping) reply = await lively.client.frame();
    assertEquals(text(reply.payload), "still here");
    silent.client.close();
    await waitFor(
      () => closes(events, CloseReason.Timeout).length === 1,
      "the close to be logged",
    );
  } finally {
    silent.client.close();
    lively.client.close();
  }
});

Deno.test("a connection that sends nothing is closed at the handshake timeout, without a reply", async () => {
  const { events, logger } = capture();
  await using hub = await serve({ port: 0, handshakeTimeout: 100, logger });
  await using quiet = await RawClient.connect(hub.addr.port);
  const started = performance.now();
  // closedByPeer fails on any frame or bytes that are not the end.
  await quiet.bytes(0);
  assert(await quiet.closedByPeer());
  assert(performance.now() - started >= 90, "not closed before the timeout");
  assertEquals(closes(events, CloseReason.HandshakeTimeout).length, 1);
});

Deno.test("past max clients a newcomer is refused in its own dialect; the others go on", async () => {
  await using hub = await serve({ port: 0, maxClients: 2 });
  const a = await registered(hub.addr.port);
  const b = await registered(hub.addr.port);
  try {
    await using binary = await RawClient.connect(hub.addr.port);
    await binary.send(encodeFrame(Kind.Identity));
    const error = await binary.frame();
    assertEquals(error.kind, Kind.Error);
    assertEquals(error.payload[0], ErrorCode.TooManyClients);
    assert(await binary.closedByPeer());
    await using textual = await RawClient.connect(hub.addr.port);
    await textual.send("list\n");
    assertEquals(await textual.line(), "error too many clients");
    assert(await textual.closedByPeer());
    await a.client.send(encodeFrame(Kind.List));
    assertEquals(u64((await a.client.frame()).payload), b.id);
    // A place frees up: the next one gets in.
    b.client.close();
    await waitFor(() => hub.stats.connections === 1, "b to leave");
    const c = await registered(hub.addr.port);
    c.client.close();
  } finally {
    a.client.close();
    b.client.close();
  }
});

Deno.test("an id is not handed out again once its client has left", async () => {
  const log = new LogRecorder();
  await using hub = await serve({ port: 0, logger: log.logger });
  const first = await registered(hub.addr.port);
  for (let round = 0; round < 3; round++) {
    const previous = await registered(hub.addr.port);
    previous.client.close();
    // The hub has counted it gone before the next one connects.
    await log.next("close", { id: Number(previous.id) });
    assertEquals(hub.stats.connections, 1);
    const next = await registered(hub.addr.port);
    assert(next.id > previous.id, `id ${next.id} after ${previous.id}`);
    next.client.close();
    await log.next("close", { id: Number(next.id) });
  }
  first.client.close();
});

Deno.test("1,000 churning connections: ids are never reused and closed ids leave the list", async () => {
  await using hub = await serve({ port: 0 });
  const watcher = await registered(hub.addr.port);
  const seen = new Set<bigint>([watcher.id]);
  try {
    const churn = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const { client, id } = await registered(hub.addr.port);
        assert(!seen.has(id), `id ${id} reused`);
        seen.add(id);
        await client.send(
          encodeRelay([watcher.id, id], new Uint8Array(8), true),
        );
        let frame = await client.frame();
        if (frame.kind === Kind.Deliver) frame = await client.frame();
        assertEquals(frame.kind, Kind.RelayReceipt);
        client.close();
      }
    };
    let listing = true;
    const listed: bigint[][] = [];
    const lister = (async () => {
      while (listing) {
        await watcher.client.send(encodeFrame(Kind.List));
        let frame = await watcher.client.frame();
        while (frame.kind === Kind.Deliver) {
          frame = await watcher.client.frame();
        }
        const ids: bigint[] = [];
        for (let i = 0; i < frame.payload.length; i += 8) {
          ids.push(u64(frame.payload, i));
        }
        listed.push(ids);
      }
    })();
    await Promise.all(Array.from({ length: 10 }, () => churn(100)));
    listing = false;
    await lister;
    assertEquals(seen.size, 1001);
    assert(listed.length > 0);
    for (const ids of listed) {
      assertLess(
        ids.length,
        11,
        "never more clients listed than were connected",
      );
      assert(!ids.includes(watcher.id), "the asker is not listed");
    }
    await waitFor(
      () => hub.stats.connections === 1,
      "every churned connection to be gone",
    );
    await watcher.client.send(encodeFrame(Kind.List));
    let frame = await watcher.client.frame();
    while (frame.kind === Kind.Deliver) frame = await watcher.client.frame();
    assertEquals(frame.payload.length, 0);
  } finally {
    watcher.client.close();
  }
});

Deno.test("500 resets mid-frame, mid-write and with messages queued leave the hub at its baseline", async () => {
  const { events, logger } = capture();
  await using hub = await serve({ port: 0, logger });
  const watcher = await registered(hub.addr.port);
  try {
    const baseline = hub.stats.connections;
    for (let i = 0; i < 500; i++) {
      const { client, id } = await registered(hub.addr.port);
      // An echo reply left unread in the client's socket makes its close a
      // reset (RST) rather than an orderly end (FIN).
      await client.send(encodeEcho(new Uint8Array(100)));
      await waitFor(
        () =>
          (hubInternals(hub).clientStats(Number(id))?.written ?? 0) >= 13 + 105,
        "the echo reply to be written",
      );
      switch (i % 3) {
        case 0: // mid-frame
          await client.send(encodeEcho(new Uint8Array(1000)).subarray(0, 300));
          break;
        case 1: // mid-write: a large reply is on its way
          await client.send(encodeEcho(new Uint8Array(MAX_BODY)));
          break;
        default: // messages queued for it
          await watcher.client.send(encodeRelay([id], new Uint8Array(200_000)));
          await watcher.client.send(encodeRelay([id], new Uint8Array(200_000)));
      }
      client.close();
    }
    await waitFor(
      () => hub.stats.connections === baseline,
      "the connection count to return to baseline",
    );
    assertEquals(hub.stats.registered, 1);
    await watcher.client.send(encodeEcho(new TextEncoder().encode("alive")));
    assertEquals(text((await watcher.client.frame()).payload), "alive");
    // Resets are the peer's doing: none may look like a failure of the hub.
    assertEquals(events.filter((e) => e.level === "error"), []);
    // Deno reports a reset as the end of input on read; only a write into a
    // reset socket names it. Either way each close is one of these two.
    const reasons = new Set(
      closes(events, CloseReason.ClientClosed).concat(
        closes(events, CloseReason.Reset),
      ),
    );
    assertEquals(
      reasons.size,
      events.filter((e) => e.message === "close").length,
    );
    assert(
      closes(events, CloseReason.Reset).length > 0,
      "writes into reset sockets were seen",
    );
  } finally {
    watcher.client.close();
  }
});

Deno.test("declared lengths of 4 GiB do not grow the hub's memory", async () => {
  await using hub = await serve({ port: 0 });
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 20; i++) {
    await using client = await RawClient.connect(hub.addr.port);
    const header = new Uint8Array([Kind.Echo, 0xff, 0xff, 0xff, 0xff]);
    await client.send(header);
    assertEquals((await client.frame()).payload[0], ErrorCode.TooLarge);
  }
  assertLess(Deno.memoryUsage().rss - before, 64 * 1024 * 1024);
});

Deno.test("shutdown flushes what is queued, then sends ERROR 6 and the text line", async () => {
  const hub = await serve({ port: 0 });
  const binary = await registered(hub.addr.port);
  const textual = await RawClient.connect(hub.addr.port);
  const sender = await registered(hub.addr.port);
  try {
    await textual.send("identity\n");
    const textId = BigInt((await textual.line()).split(" ")[1]!);
    const body = new Uint8Array(100_000).fill(1);
    for (let i = 0; i < 30; i++) {
      await sender.client.send(encodeRelay([binary.id, textId], body));
    }
    await sender.client.send(encodeFrame(Kind.Ping));
    assertEquals((await sender.client.frame()).kind, Kind.Pong);
    const stopping = hub.shutdown();
    for (let i = 0; i < 30; i++) {
      const frame = await binary.client.frame();
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(frame.payload.length, 8 + body.length);
    }
    const last = await binary.client.frame();
    assertEquals(last.kind, Kind.Error);
    assertEquals(last.payload[0], ErrorCode.ShuttingDown);
    for (let i = 0; i < 30; i++) {
      assertEquals(await textual.line(), `message ${sender.id} ${body.length}`);
      assertEquals(
        (await textual.bytes(body.length + 1)).length,
        body.length + 1,
      );
    }
    assertEquals(await textual.line(), "error hub shutting down");
    await stopping;
    assertEquals(hub.stats.connections, 0);
  } finally {
    binary.client.close();
    textual.close();
    sender.client.close();
    await hub.shutdown();
  }
});

Deno.test("a sender that fills a receiver past half its limit waits for it to drain", async (t) => {
  const maxPending = 4 * 1024 * 1024;
  for (const maxStall of [10_000, 0]) {
    await t.step(`maxStall ${maxStall}`, async () => {
      await using hub = await serve({ port: 0, maxPending, maxStall });
      const receiver = await registered(hub.addr.port);
      const sender = await registered(hub.addr.port);
      let other: RawClient | null = null;
      try {
        // Relay to a receiver that does not read yet until, past what its
        // socket buffers take, its queue at the hub passes the mark.
        const body = new Uint8Array(512 * 1024);
        const stats = () => hubInternals(hub).clientStats(Number(receiver.id))!;
        const frame = 13 + body.length;
        let sent = 0;
        // The mark is measured as the hub measures it: the queue's footprint.
        while (stats().footprint <= maxPending / 2) {
          await sender.client.send(encodeRelay([receiver.id], body));
          sent++;
          await waitFor(
            () => stats().queued + stats().written >= 13 + sent * frame,
            "the relay",
          );
          assert(sent < 200, "the queue never passed the mark");
        }
        await sender.client.send(encodeEcho(new TextEncoder().encode("next")));
        let answered = false;
        const reply = sender.client.frame(30_000).then((frame) => {
          answered = true;
          return frame;
        });
        if (maxStall === 0) {
          // Not paused: answered while the receiver has read nothing.
          assertEquals(text((await reply).payload), "next");
          assertEquals(hub.metrics().counters.stalls, 0);
        } else {
          // Paused: the hub counted the stall, and answers another client's
          // requests, sent after the echo, while the sender's echo stays
          // unread until the receiver catches up.
          await waitFor(() => hub.metrics().counters.stalls === 1, "the stall");
          other = await RawClient.connect(hub.addr.port);
          for (let i = 0; i < 3; i++) {
            await other.send(encodeFrame(Kind.Ping));
            assertEquals((await other.frame()).kind, Kind.Pong);
          }
          assert(!answered, "the sender was answered before the receiver read");
        }
        for (let i = 0; i < sent; i++) {
          assertEquals((await receiver.client.frame()).kind, Kind.Deliver);
        }
        assertEquals(text((await reply).payload), "next");
        assertEquals(
          hub.stats.registered,
          other === null ? 2 : 3,
          "nobody was cut off",
        );
      } finally {
        receiver.client.close();
        sender.client.close();
        other?.close();
      }
    });
  }
});

Deno.test("time the hub spends stalled does not count against a client's timeouts", async () => {
  await using hub = await serve({ port: 0, handshakeTimeout: 200 });
  await using client = await RawClient.connect(hub.addr.port);
  await client.send(new Uint8Array([Kind.Identity, 0, 0, 0, 0]));
  // The hub's thread is busy for three handshake timeouts: the byte has
  // arrived, but the hub could not read it.
  const until = performance.now() + 600;
  while (performance.now() < until) {
    // Busy, as a hub under a burst of work would be.
  }
  const reply = await client.frame();
  assertEquals(reply.kind, Kind.IdentityReply);
});
