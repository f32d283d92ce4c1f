/**
 * Back-pressure across hubs over a real nats-server: an unthrottled sender
 * on one hub is slowed to the pace of the reading receivers on another,
 * which are never cut and get everything, in order; a receiver there that
 * does not read is cut at its bound, and only it; and a stuck remote
 * receiver pauses the sender at most `--max-stall` per read, never for good.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { RawClient, u64, waitFor } from "../../_helpers.ts";
import { clusterHub, clusterTest, NatsServer } from "../../_nats.ts";
import {
  encodeEcho,
  encodeFrame,
  encodeRelay,
  ErrorCode,
  Kind,
  MAX_BODY,
} from "../../../protocol/mod.ts";
import type { Hub } from "../../../hub/mod.ts";
import { mulberry32 } from "../../_random.ts";
import { equals } from "@std/bytes/equals";

let names = 0;

/** The bytes every body shares but for its sequence number, at both ends. */
const BASE = (() => {
  const next = mulberry32(11);
  const bytes = new Uint8Array(MAX_BODY);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() * 256;
  return bytes;
})();

/** Body number `i`: BASE with `i` in its first and last four bytes. */
function body(i: number): Uint8Array {
  const bytes = BASE.slice();
  const view = new DataView(bytes.buffer);
  view.setUint32(0, i);
  view.setUint32(bytes.length - 4, i);
  return bytes;
}

/** Throws unless `frame` delivers body number `i` from `sender`. */
function checkDelivery(
  frame: { kind: number; payload: Uint8Array },
  sender: bigint,
  i: number,
  who: string,
): void {
  assertEquals(frame.kind, Kind.Deliver, `${who}: delivery ${i}`);
  assertEquals(u64(frame.payload), sender, `${who}: sender of ${i}`);
  const got = frame.payload.subarray(8);
  assertEquals(got.length, MAX_BODY, `${who}: length of ${i}`);
  const view = new DataView(got.buffer, got.byteOffset, got.byteLength);
  assertEquals(view.getUint32(0), i, `${who}: delivery ${i} is in order`);
  assertEquals(view.getUint32(got.length - 4), i, `${who}: tail of ${i}`);
  assert(
    equals(got.subarray(4, got.length - 4), BASE.subarray(4, BASE.length - 4)),
    `${who}: body ${i} arrived intact`,
  );
}

/** Registers `client` and returns its id. */
async function identity(client: RawClient): Promise<bigint> {
  await client.send(encodeFrame(Kind.Identity));
  return u64((await client.frame()).payload);
}

/** Waits until `hub` lists `count` clients on other hubs. */
function remoteClients(hub: Hub, count: number): Promise<void> {
  return waitFor(
    () => hub.metrics().cluster?.remoteClients === count,
    `${count} remote clients`,
    30_000,
  );
}

/** Reads `count` deliveries of bodies 0, 1, … from `sender`, checking each. */
async function readAll(
  receiver: RawClient,
  sender: bigint,
  count: number,
  who: string,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    checkDelivery(await receiver.frame(60_000), sender, i, who);
  }
}

clusterTest(
  "cluster back-pressure: an unthrottled sender does not get reading receivers on another hub cut",
  async () => {
    await using nats = await NatsServer.start();
    const name = `press${names++}`;
    // A generous --max-stall: on a loaded machine a reading receiver may
    // pause for a while, and the sender must wait for it, as on one hub.
    await using hubA = await clusterHub(nats, name, { maxStall: 2_000 });
    await using hubB = await clusterHub(nats, name);
    await using r1 = await RawClient.connect(hubB.addr.port);
    const r1Id = await identity(r1);
    await using r2 = await RawClient.connect(hubB.addr.port);
    const r2Id = await identity(r2);
    await using sender = await RawClient.connect(hubA.addr.port);
    const senderId = await identity(sender);
    await remoteClients(hubA, 2);

    const count = 200;
    const sending = (async () => {
      for (let i = 0; i < count; i++) {
        await sender.send(encodeRelay([r1Id, r2Id], body(i)));
      }
    })();
    await Promise.all([
      sending,
      readAll(r1, senderId, count, "receiver 1"),
      readAll(r2, senderId, count, "receiver 2"),
    ]);
    // The sender is still served, after everything.
    await sender.send(encodeEcho(new Uint8Array([1])));
    assertEquals((await sender.frame(30_000)).kind, Kind.EchoReply);

    const a = hubA.metrics();
    const b = hubB.metrics();
    assertEquals(b.counters.slowConsumers, 0, "no receiver was cut");
    assertEquals(b.cluster!.gaps, 0, "no relay message was lost");
    assertEquals(b.cluster!.disconnects, 0, "NATS never cut hub B");
    assertEquals(a.cluster!.disconnects, 0, "NATS never cut hub A");
    assert(a.counters.stalls > 0, "the sender was slowed");
    console.log(
      `  ${count} x 1 MiB to 2 receivers on another hub: none cut, sender paused ${a.counters.stalls} times`,
    );
  },
);

clusterTest(
  "cluster back-pressure: a receiver on another hub that does not read is cut, and only it",
  async () => {
    await using nats = await NatsServer.start();
    const name = `press${names++}`;
    // The default --max-stall (10 ms) on the sender's hub.
    await using hubA = await clusterHub(nats, name);
    await using hubB = await clusterHub(nats, name, {
      maxPending: 4 * 1024 * 1024,
    });
    await using stuck = await RawClient.connect(hubB.addr.port);
    const stuckId = await identity(stuck);
    await using reading = await RawClient.connect(hubB.addr.port);
    const readingId = await identity(reading);
    await using sender = await RawClient.connect(hubA.addr.port);
    const senderId = await identity(sender);
    await remoteClients(hubA, 2);
    const count = 60;
    const sending = (async () => {
      for (let i = 0; i < count; i++) {
        await sender.send(encodeRelay([stuckId, readingId], body(i)));
      }
    })();
    await Promise.all([
      sending,
      readAll(reading, senderId, count, "the reading receiver"),
    ]);
    await waitFor(
      () => hubB.metrics().counters.slowConsumers === 1,
      "the stuck receiver to be cut",
      30_000,
    );
    // What the stuck one finally reads: whole deliveries in order, ERROR 3.
    let delivered = 0;
    while (true) {
      const frame = await stuck.frame(30_000);
      if (frame.kind !== Kind.Deliver) {
        assertEquals(frame.kind, Kind.Error);
        assertEquals(frame.payload[0], ErrorCode.SlowConsumer);
        break;
      }
      checkDelivery(frame, senderId, delivered++, "the stuck receiver");
    }
    assert(delivered < count, `the stuck receiver got ${delivered}`);
    assert(await stuck.closedByPeer(30_000));
    assertEquals(hubB.metrics().counters.slowConsumers, 1, "only it");
    assertEquals(hubB.metrics().cluster!.gaps, 0, "nothing was lost");
  },
);

clusterTest(
  "cluster back-pressure: a stuck receiver on another hub pauses the sender at most --max-stall per read",
  async () => {
    await using nats = await NatsServer.start();
    const name = `press${names++}`;
    await using hubA = await clusterHub(nats, name, { maxStall: 50 });
    // A bound the test never reaches, and no write timeout to speak of: the
    // stuck receiver holds the window for the whole test.
    await using hubB = await clusterHub(nats, name, {
      maxPending: 1024 * 1024 * 1024,
      writeTimeout: 600_000,
    });
    await using stuck = await RawClient.connect(hubB.addr.port);
    const stuckId = await identity(stuck);
    await using reading = await RawClient.connect(hubB.addr.port);
    const readingId = await identity(reading);
    await using sender = await RawClient.connect(hubA.addr.port);
    const senderId = await identity(sender);
    await remoteClients(hubA, 2);
    const count = 40;
    const sending = (async () => {
      for (let i = 0; i < count; i++) {
        await sender.send(encodeRelay([stuckId, readingId], body(i)));
      }
    })();
    // Every relay gets through: the pauses end, though the window is
    // never credited while the stuck receiver is past its mark.
    await Promise.all([
      sending,
      readAll(reading, senderId, count, "the reading receiver"),
    ]);
    await sender.send(encodeEcho(new Uint8Array([1])));
    assertEquals((await sender.frame(30_000)).kind, Kind.EchoReply);
    const a = hubA.metrics();
    assert(a.counters.stalls > 0, "the sender was paused");
    assertEquals(hubB.metrics().counters.slowConsumers, 0);
    assert(
      hubB.metrics().queuedBytes > 8 * 1024 * 1024,
      "the stuck receiver is still far behind",
    );
  },
);
