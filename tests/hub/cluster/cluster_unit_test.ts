/** The cluster's pure parts: its wire format, the view of other hubs, ids. */
import { assert, assertEquals, assertThrows } from "../../_assert.ts";
import {
  Batch,
  BATCH_HEAD,
  ClusterWireError,
  decodePresence,
  encodePresence,
  Presence,
  type PresenceMessage,
  readRecord,
  recordSize,
  writeBatchHead,
  writeRecord,
} from "../../../hub/cluster/wire.ts";
import { ClusterView, type ViewActions } from "../../../hub/cluster/view.ts";
import {
  checkEpoch,
  IDS_PER_EPOCH,
  IdSource,
  MAX_EPOCH,
} from "../../../hub/cluster/ids.ts";

const BIG = 2 ** 52 + 7;

Deno.test("presence messages round-trip, ids up to 2^53 included", () => {
  const messages: PresenceMessage[] = [
    { kind: Presence.Heartbeat, hub: 3, seq: 9, count: 2, epoch: 3 },
    { kind: Presence.Delta, hub: 3, seq: 10, joined: [1, BIG], left: [5] },
    { kind: Presence.Delta, hub: 3, seq: 11, joined: [], left: [] },
    {
      kind: Presence.Snapshot,
      hub: 7,
      seq: 0xffff_ffff,
      part: 1,
      parts: 2,
      ids: [IDS_PER_EPOCH + 1, IDS_PER_EPOCH + 2],
    },
    { kind: Presence.Bye, hub: 7, seq: 1 },
    { kind: Presence.Hello, hub: 8, seq: 0 },
    { kind: Presence.Resync, hub: 8, seq: 4, target: 3 },
  ];
  for (const message of messages) {
    assertEquals(decodePresence(encodePresence(message)), message);
  }
});

Deno.test("malformed presence messages are refused, not misread", () => {
  const delta = encodePresence({
    kind: Presence.Delta,
    hub: 1,
    seq: 1,
    joined: [1, 2],
    left: [],
  });
  const bad = [
    new Uint8Array(3),
    delta.subarray(0, delta.length - 1),
    Uint8Array.of(...delta, 0),
    Uint8Array.of(99, 0, 0, 0, 1, 0, 0, 0, 1),
    encodePresence({
      kind: Presence.Snapshot,
      hub: 1,
      seq: 1,
      part: 0,
      parts: 1,
      ids: [],
    })
      .map((byte, i) => i === 10 ? 1 : byte), // part 1 of 1
  ];
  for (const bytes of bad) {
    assertThrows(() => decodePresence(bytes), ClusterWireError);
  }
  // An id past 2^53 cannot be a client of ours.
  const huge = encodePresence({
    kind: Presence.Delta,
    hub: 1,
    seq: 1,
    joined: [1],
    left: [],
  });
  huge[13] = 0xff;
  assertThrows(() => decodePresence(huge), ClusterWireError, "2^53");
});

Deno.test("relay records: written back to back, read where they are", () => {
  const body = new TextEncoder().encode("--hello--");
  const bytes = new Uint8Array(
    BATCH_HEAD + recordSize(2, 5) + recordSize(1, 0),
  );
  writeBatchHead(bytes, 12, 34, Batch.Whole);
  let at = writeRecord(bytes, BATCH_HEAD, BIG, [1, 2 ** 40], body, 2, 7);
  at = writeRecord(bytes, at, 5, [6], body, 0, 0);
  assertEquals(at, bytes.length);

  const first = readRecord(bytes, BATCH_HEAD, bytes.length);
  assertEquals(first.sender, BIG);
  assertEquals(first.n, 2);
  assertEquals(
    new TextDecoder().decode(bytes.subarray(first.bodyStart, first.end)),
    "hello",
  );
  const second = readRecord(bytes, first.end, bytes.length);
  assertEquals([second.sender, second.n, second.end], [5, 1, bytes.length]);
  assertEquals(second.bodyStart, second.end);

  // A record whose length runs past its batch, or names no receiver.
  assertThrows(
    () => readRecord(bytes, first.end, bytes.length - 1),
    ClusterWireError,
  );
  const empty = new Uint8Array(recordSize(0, 0));
  writeRecord(empty, 0, 1, [], body, 0, 0);
  assertThrows(() => readRecord(empty, 0, empty.length), ClusterWireError);
});

/** A view with its actions recorded. */
function view(self = 1, deadAfter = 1000) {
  const log: string[] = [];
  const actions: ViewActions = {
    askSnapshot: (hub) => log.push(`ask ${hub}`),
    sendSnapshot: (to) => log.push(`snapshot to ${to}`),
    changed: () => log.push("changed"),
    event: (what, hub, clients) => log.push(`${what} ${hub} ${clients}`),
  };
  return { view: new ClusterView(self, deadAfter, actions), log };
}

Deno.test("view: a snapshot brings a hub in, deltas keep it current", () => {
  const { view: v, log } = view();
  v.handle({ kind: Presence.Hello, hub: 2, seq: 0 }, 0);
  assertEquals(log, ["snapshot to 2"]);
  v.handle({
    kind: Presence.Snapshot,
    hub: 2,
    seq: 4,
    part: 0,
    parts: 2,
    ids: [10],
  }, 1);
  assertEquals(v.clients.size, 0, "not before every part is in");
  v.handle({
    kind: Presence.Snapshot,
    hub: 2,
    seq: 4,
    part: 1,
    parts: 2,
    ids: [11],
  }, 2);
  assertEquals([...v.clients.keys()].sort(), [10, 11]);
  v.handle(
    { kind: Presence.Delta, hub: 2, seq: 5, joined: [12], left: [10] },
    3,
  );
  assertEquals([...v.clients.keys()].sort(), [11, 12]);
  // An old delta again changes nothing and asks nothing.
  v.handle({ kind: Presence.Delta, hub: 2, seq: 5, joined: [10], left: [] }, 4);
  assertEquals([...v.clients.keys()].sort(), [11, 12]);
  // A heartbeat that agrees asks nothing; our own messages are ignored.
  v.handle({ kind: Presence.Heartbeat, hub: 2, seq: 5, count: 2, epoch: 2 }, 5);
  v.handle({ kind: Presence.Delta, hub: 1, seq: 1, joined: [99], left: [] }, 5);
  assertEquals(log, [
    "snapshot to 2",
    "hub joined 2 2",
    "changed",
    "changed",
  ]);
  assertEquals(v.clients.get(99), undefined);
});

Deno.test("view: a missed delta or a heartbeat ahead asks for a snapshot", () => {
  const { view: v, log } = view();
  v.handle({
    kind: Presence.Snapshot,
    hub: 2,
    seq: 1,
    part: 0,
    parts: 1,
    ids: [10],
  }, 0);
  log.length = 0;
  v.handle(
    { kind: Presence.Delta, hub: 2, seq: 3, joined: [12], left: [] },
    1000,
  );
  assertEquals(log, ["ask 2"]);
  assertEquals(
    v.clients.get(12),
    undefined,
    "a delta past a gap is not applied",
  );
  // Asks are spaced; the next heartbeat after the spacing asks again.
  v.handle(
    { kind: Presence.Heartbeat, hub: 2, seq: 3, count: 2, epoch: 2 },
    1010,
  );
  v.handle(
    { kind: Presence.Heartbeat, hub: 2, seq: 3, count: 2, epoch: 2 },
    1300,
  );
  assertEquals(log, ["ask 2", "ask 2"]);
  v.handle({
    kind: Presence.Snapshot,
    hub: 2,
    seq: 3,
    part: 0,
    parts: 1,
    ids: [10, 12],
  }, 1301);
  assertEquals([...v.clients.keys()].sort(), [10, 12]);
  assertEquals(log.slice(2), ["hub resynced 2 2", "changed"]);
  // A heartbeat from a hub never seen asks for its snapshot.
  v.handle(
    { kind: Presence.Heartbeat, hub: 3, seq: 0, count: 0, epoch: 3 },
    1302,
  );
  assertEquals(log.at(-1), "ask 3");
  // A Resync aimed at us is answered with our snapshot.
  v.handle({ kind: Presence.Resync, hub: 3, seq: 0, target: 1 }, 1303);
  assertEquals(log.at(-1), "snapshot to 3");
});

Deno.test("view: Bye drops a hub at once, silence after deadAfter", () => {
  const { view: v, log } = view(1, 1000);
  v.handle({
    kind: Presence.Snapshot,
    hub: 2,
    seq: 0,
    part: 0,
    parts: 1,
    ids: [20],
  }, 0);
  v.handle({
    kind: Presence.Snapshot,
    hub: 3,
    seq: 0,
    part: 0,
    parts: 1,
    ids: [30],
  }, 0);
  v.handle(
    { kind: Presence.Heartbeat, hub: 3, seq: 0, count: 1, epoch: 3 },
    900,
  );
  assertEquals(v.sweep(1000), 0);
  assertEquals(v.sweep(1001), 1, "hub 2 was silent for more than 1000 ms");
  assertEquals([...v.clients.keys()], [30]);
  assert(log.includes("hub lost 2 1"));
  v.handle({ kind: Presence.Bye, hub: 3, seq: 0 }, 1002);
  assertEquals(v.clients.size, 0);
  assertEquals(v.hubs.size, 0);
  assert(log.includes("hub left 3 1"));
});

Deno.test("ids: unique across epochs, the next epoch taken half-way", async () => {
  let epochs = 5;
  const taken: number[] = [];
  const source = new IdSource(5, () => {
    taken.push(++epochs);
    return Promise.resolve(epochs);
  }, (error) => {
    throw error;
  }, 8);
  const ids: number[] = [];
  for (let i = 0; i < 7; i++) ids.push(source.next()!);
  assertEquals(ids, [41, 42, 43, 44, 45, 46, 47]);
  assertEquals(taken, [6], "epoch 6 was asked for at id 4 of 8");
  await Promise.resolve();
  ids.push(source.next()!);
  assertEquals(ids.at(-1), 49, "epoch 6 starts at 6 * 8 + 1");
  assertEquals(new Set(ids).size, ids.length);
});

Deno.test("ids: an epoch used up before the next arrives gives no id", async () => {
  let resolve: (epoch: number) => void = () => {};
  const source = new IdSource(
    1,
    () => new Promise<number>((r) => resolve = r),
    () => {},
    4,
  );
  assertEquals([source.next(), source.next(), source.next()], [5, 6, 7]);
  assertEquals(source.next(), null);
  resolve(2);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(source.next(), 9);
  assertThrows(() => checkEpoch(MAX_EPOCH + 1), RangeError, "used up");
  assertThrows(() => checkEpoch(0), RangeError);
});

Deno.test("view: a snapshot with nothing new is not applied again", () => {
  const { view: v, log } = view();
  const snapshot: PresenceMessage = {
    kind: Presence.Snapshot,
    hub: 2,
    seq: 3,
    part: 0,
    parts: 1,
    ids: [2 ** 33 + 1],
  };
  v.handle(snapshot, 0);
  assertEquals(log, ["hub joined 2 1", "changed"]);
  // Sent again to a hub that asked at the same time: no rebuild, no log.
  v.handle(snapshot, 1);
  assertEquals(log.length, 2);
  // The epoch of its ids routes relays, and counts as in use.
  assertEquals(v.epochs.get(2)?.number, 2);
  assertEquals(v.maxEpoch, 2);
  v.handle({ kind: Presence.Heartbeat, hub: 2, seq: 3, count: 1, epoch: 9 }, 2);
  assertEquals(v.maxEpoch, 9);
  // Forgetting every hub at once raises no event per hub.
  v.clear();
  assertEquals(log.slice(2), ["changed"]);
  assertEquals(v.epochs.size, 0);
});
