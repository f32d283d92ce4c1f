/**
 * The cluster link's parts fed by hand, without NATS: relay messages in
 * (malformed, in parts, with gaps, from too many senders), relay messages
 * out, NATS status events, hub numbering, and the link composed over a
 * stand-in connection.
 */
import { assert, assertEquals, assertRejects } from "../../_assert.ts";
import { deadline, waitFor } from "../../_helpers.ts";
import { readU64 } from "../../../protocol/mod.ts";
import { ClusterLink } from "../../../hub/cluster/link.ts";
import {
  type HubNumbers,
  hubNumbers,
  type StreamApi,
  takeNumber,
} from "../../../hub/cluster/numbering.ts";
import {
  MAX_INBOXES,
  MAX_RECORD,
  RelayIn,
} from "../../../hub/cluster/relay_in.ts";
import { PresenceExchange } from "../../../hub/cluster/presence.ts";
import { RelayOut } from "../../../hub/cluster/relay_out.ts";
import { retryStart } from "../../../hub/cluster/start.ts";
import { AckOutbox, Receipts } from "../../../hub/cluster/receipts.ts";
import { decodeAcks, readRecord } from "../../../hub/cluster/wire.ts";
import {
  applyStatus,
  type StatusTarget,
  watchStatus,
} from "../../../hub/cluster/status.ts";
import {
  type ClusterConnection,
  ClusterError,
  type ClusterHost,
  type NatsStatus,
  zeroCounters,
} from "../../../hub/cluster/types.ts";
import { RemoteHub } from "../../../hub/cluster/view.ts";
import {
  Batch,
  BATCH_HEAD,
  type BatchFlag,
  decodePresence,
  encodePresence,
  Presence,
  type PresenceMessage,
  recordSize,
  type RecordView,
  writeBatchHead,
  writeRecord,
} from "../../../hub/cluster/wire.ts";
import { IDS_PER_EPOCH } from "../../../hub/cluster/ids.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A relay as a test writes it and as the hub receives it. */
interface Relay {
  sender: number;
  ids: number[];
  body: string;
}

/** One record with its length field: the relay from `sender` to `ids`. */
function record({ sender, ids, body }: Relay): Uint8Array {
  const bytes = encoder.encode(body);
  const out = new Uint8Array(recordSize(ids.length, bytes.length));
  writeRecord(out, 0, sender, ids, bytes, 0, bytes.length);
  return out;
}

/** A relay message from hub `source`: its head, then `rest` back to back. */
function message(
  source: number,
  seq: number,
  flag: number,
  ...rest: Uint8Array[]
): Uint8Array {
  const size = rest.reduce((sum, part) => sum + part.length, BATCH_HEAD);
  const out = new Uint8Array(size);
  writeBatchHead(out, source, seq, flag as BatchFlag);
  let at = BATCH_HEAD;
  for (const part of rest) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A whole batch from hub `source` holding `relays`. */
function whole(source: number, seq: number, ...relays: Relay[]): Uint8Array {
  return message(source, seq, Batch.Whole, ...relays.map(record));
}

/**
 * The bytes of `relay` as three part messages (First, Part, Last), the way
 * a hub sends a record too large for one message.
 */
function inParts(source: number, seq: number, relay: Relay): Uint8Array[] {
  const bare = record(relay).subarray(4);
  const third = Math.ceil(bare.length / 3);
  const total = new Uint8Array(4);
  new DataView(total.buffer).setUint32(0, bare.length);
  return [
    message(source, seq, Batch.First, total, bare.subarray(0, third)),
    message(source, seq + 1, Batch.Part, bare.subarray(third, 2 * third)),
    message(source, seq + 2, Batch.Last, bare.subarray(2 * third)),
  ];
}

/** What one delivery handed the hub, copied out of the reused view. */
interface Delivered extends Relay {
  owned: boolean;
}

function readDelivery(
  bytes: Uint8Array,
  record: RecordView,
  owned: boolean,
): Delivered {
  const ids: number[] = [];
  for (let i = 0; i < record.n; i++) {
    ids.push(Number(readU64(bytes, record.idsStart + 8 * i)));
  }
  return {
    sender: record.sender,
    ids,
    body: decoder.decode(bytes.subarray(record.bodyStart, record.end)),
    owned,
  };
}

/** A RelayIn whose deliveries and malformed messages are recorded. */
function relayIn(hubs: Map<number, RemoteHub> = new Map()) {
  const delivered: Delivered[] = [];
  const malformed: string[] = [];
  const counters = zeroCounters();
  const relays = new RelayIn({
    host: {
      deliverRemote: (bytes, record, owned) =>
        delivered.push(readDelivery(bytes, record, owned)),
    },
    hubs,
    counters,
    malformed: (what, error) => {
      counters.badMessages++;
      malformed.push(`${what}: ${error === undefined ? "short" : error}`);
    },
  });
  return { relays, delivered, malformed, counters };
}

const A = {
  sender: 2 * IDS_PER_EPOCH + 1,
  ids: [IDS_PER_EPOCH + 1],
  body: "a",
};
const B = {
  sender: 2 * IDS_PER_EPOCH + 2,
  ids: [IDS_PER_EPOCH + 1, IDS_PER_EPOCH + 2],
  body: "bb",
};

Deno.test("relay in: a whole batch delivers its records in order", () => {
  const { relays, delivered, counters } = relayIn();
  relays.receive(whole(2, 1, A, B));
  assertEquals(delivered, [
    { ...A, owned: false },
    { ...B, owned: false },
  ]);
  assertEquals([counters.batchesIn, counters.relaysIn], [1, 2]);
  assertEquals(counters.gaps, 0);
});

Deno.test("relay in: malformed messages are counted and dropped", () => {
  const longRecord = record(A);
  // Its length field claims one byte more than the batch holds.
  new DataView(longRecord.buffer).setUint32(0, longRecord.length - 3);
  const noReceivers = new Uint8Array(recordSize(0, 1));
  writeRecord(noReceivers, 0, A.sender, [], encoder.encode("x"), 0, 1);
  const total = (n: number) => {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, n);
    return out;
  };
  const cases: {
    name: string;
    messages: Uint8Array[];
    delivered: Relay[];
    malformed: string[];
  }[] = [
    {
      name: "shorter than a head",
      messages: [new Uint8Array(BATCH_HEAD - 1)],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "an unknown flag",
      messages: [message(2, 1, 7, record(A))],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "a record running past its batch, after a good one",
      messages: [message(2, 1, Batch.Whole, record(B), longRecord)],
      delivered: [B],
      malformed: ["relay: ClusterWireError: record past its batch"],
    },
    {
      name: "a record naming no receiver",
      messages: [message(2, 1, Batch.Whole, noReceivers)],
      delivered: [],
      malformed: [
        "relay: ClusterWireError: record with 0 receivers does not fit",
      ],
    },
    {
      name: "a first part without its length",
      messages: [message(2, 1, Batch.First, new Uint8Array(3))],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "a first part of a record past the limit",
      messages: [message(2, 1, Batch.First, total(MAX_RECORD + 1))],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "a first part longer than its record",
      messages: [message(2, 1, Batch.First, total(2), new Uint8Array(3))],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "parts overflowing their record; the last is then skipped",
      messages: [
        message(2, 1, Batch.First, total(4), new Uint8Array(2)),
        message(2, 2, Batch.Part, new Uint8Array(3)),
        message(2, 3, Batch.Last, new Uint8Array(2)),
      ],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "a last part that leaves its record short",
      messages: [
        message(2, 1, Batch.First, total(40), new Uint8Array(2)),
        message(2, 2, Batch.Last, new Uint8Array(2)),
      ],
      delivered: [],
      malformed: ["relay: short"],
    },
    {
      name: "a record put together that does not read",
      messages: [
        message(2, 1, Batch.First, total(9), new Uint8Array(4)),
        message(2, 2, Batch.Last, new Uint8Array(5)),
      ],
      delivered: [],
      malformed: [
        "relay: ClusterWireError: record with 0 receivers does not fit",
      ],
    },
  ];
  for (const c of cases) {
    const { relays, delivered, malformed, counters } = relayIn();
    for (const m of c.messages) relays.receive(m);
    assertEquals(
      delivered,
      c.delivered.map((r) => ({ ...r, owned: false })),
      c.name,
    );
    assertEquals(malformed, c.malformed, c.name);
    assertEquals(counters.badMessages, c.malformed.length, c.name);
    assertEquals(counters.gaps, 0, c.name);
    // The inbox still works: a good batch after the bad ones is delivered.
    relays.receive(whole(2, c.messages.length + 1, A));
    assertEquals(delivered.at(-1), { ...A, owned: false }, c.name);
  }
});

Deno.test("relay in: a record in parts is put together and delivered whole", () => {
  const { relays, delivered, counters } = relayIn();
  const big = { ...B, body: "0123456789".repeat(30) };
  const [first, part, last] = inParts(2, 1, big);
  relays.receive(first!);
  relays.receive(part!);
  assertEquals(delivered, [], "not before the last part");
  relays.receive(last!);
  assertEquals(delivered, [{ ...big, owned: true }]);
  assertEquals([counters.batchesIn, counters.relaysIn], [3, 1]);
  // A whole batch after it is read as usual.
  relays.receive(whole(2, 4, A));
  assertEquals(delivered.at(-1), { ...A, owned: false });
  assertEquals([counters.gaps, counters.badMessages], [0, 0]);
});

Deno.test("relay in: gaps are counted, and a record cut by one is skipped", () => {
  const { relays, delivered, counters } = relayIn();
  relays.receive(whole(2, 5, A));
  assertEquals(counters.gaps, 0, "a new sender's first number is taken as is");
  relays.receive(whole(2, 8, B));
  assertEquals(counters.gaps, 2, "6 and 7 went missing");
  assertEquals(delivered.length, 2, "what arrives after a gap is delivered");

  // The middle part of a record goes missing: the rest of it is skipped.
  const [first, , last] = inParts(2, 9, { ...A, body: "x".repeat(100) });
  relays.receive(first!);
  relays.receive(last!);
  assertEquals(counters.gaps, 3);
  assertEquals(delivered.length, 2, "the cut record is not delivered");
  // Its first part went missing: the parts that come are skipped.
  const parts = inParts(2, 12, { ...A, body: "y".repeat(100) });
  relays.receive(parts[1]!);
  relays.receive(parts[2]!);
  assertEquals(counters.gaps, 4);
  assertEquals(delivered.length, 2);
  relays.receive(whole(2, 15, A));
  assertEquals(delivered.length, 3);
  assertEquals(counters.badMessages, 0, "missing parts are not malformed");

  // A whole batch where the next part was due ends the record too.
  const cut = inParts(2, 16, { ...A, body: "z".repeat(100) });
  relays.receive(cut[0]!);
  relays.receive(whole(2, 17, A));
  relays.receive(message(2, 18, Batch.Last, cut[2]!.subarray(BATCH_HEAD)));
  assertEquals(delivered.length, 4);
  assertEquals(counters.badMessages, 0);

  // A sender that starts over begins again at 1: no gap.
  relays.receive(whole(2, 1, A));
  assertEquals(counters.gaps, 4);
  // Sequence numbers wrap at 2^32.
  relays.receive(whole(3, 0xffff_ffff, A));
  relays.receive(whole(3, 0, A));
  assertEquals(counters.gaps, 4);
  assertEquals(counters.relaysIn, 7);
});

Deno.test("relay in: senders are bounded; the oldest is forgotten first", () => {
  const { relays, counters } = relayIn();
  for (let hub = 1; hub <= MAX_INBOXES; hub++) relays.receive(whole(hub, 5, A));
  assertEquals(relays.senders, MAX_INBOXES);
  // A tracked sender's gap is counted ...
  relays.receive(whole(2, 7, A));
  assertEquals(counters.gaps, 1);
  // ... and one sender more evicts the oldest.
  relays.receive(whole(MAX_INBOXES + 1, 5, A));
  assertEquals(relays.senders, MAX_INBOXES);
  assert(!relays.tracks(1), "the oldest sender was evicted");
  assert(relays.tracks(MAX_INBOXES + 1));
  // Hub 1 comes back far ahead: a fresh inbox, not a gap of 4.
  relays.receive(whole(1, 10, A));
  assertEquals(counters.gaps, 1);
  assert(relays.tracks(1));
  assert(!relays.tracks(2), "now hub 2 was the oldest");
  // A hub that left is forgotten at once.
  relays.forget(3);
  assert(!relays.tracks(3));
  assertEquals(counters.relaysIn, MAX_INBOXES + 3);
});

Deno.test("relay in: a relay from a known hub is a sign of life", () => {
  const hub = new RemoteHub(2, -1_000_000);
  const { relays } = relayIn(new Map([[2, hub]]));
  relays.receive(whole(2, 1, A));
  assert(hub.lastSeen > -1_000_000, "lastSeen moved on");
});

Deno.test("relay out: one message per hub and task, numbered per hub", async () => {
  const sent: { subject: string; bytes: Uint8Array }[] = [];
  const counters = zeroCounters();
  const out = new RelayOut({
    number: 9,
    prefix: "msghub.t.relay.",
    publish: (subject, bytes) => sent.push({ subject, bytes: bytes.slice() }),
    counters,
    maxPayload: 1024 * 1024,
  });
  const [two, three] = [new RemoteHub(2, 0), new RemoteHub(3, 0)];
  const body = encoder.encode(A.body);
  out.forward(two, A.sender, A.ids, body, 0, body.length);
  out.forward(three, A.sender, A.ids, body, 0, body.length);
  out.forward(two, A.sender, A.ids, body, 0, body.length);
  assertEquals(sent, [], "nothing before the end of the task");
  await Promise.resolve();
  assertEquals(sent.map((m) => m.subject), [
    "msghub.t.relay.2",
    "msghub.t.relay.3",
  ]);
  // Read back: each is a whole batch from hub 9, numbered from 1.
  const { relays, delivered } = relayIn();
  for (const m of sent) relays.receive(m.bytes);
  assertEquals(delivered.length, 3);
  out.forward(two, A.sender, A.ids, body, 0, body.length);
  out.flushAll();
  const view = new DataView(sent[2]!.bytes.buffer);
  assertEquals([view.getUint32(0), view.getUint32(4)], [9, 2]);
  assertEquals(sent[2]!.bytes[8], Batch.Whole);
  assertEquals([counters.relaysOut, counters.batchesOut], [4, 3]);
  // A hub forgotten starts again at 1, which its receiver takes as a restart.
  out.forget(2);
  out.forward(two, A.sender, A.ids, body, 0, body.length);
  out.flushAll();
  assertEquals(new DataView(sent[3]!.bytes.buffer).getUint32(4), 1);
});

Deno.test("relay out: a record too large for a message crosses in parts", () => {
  const sent: Uint8Array[] = [];
  const out = new RelayOut({
    number: 9,
    prefix: "r.",
    publish: (_subject, bytes) => sent.push(bytes.slice()),
    counters: zeroCounters(),
    maxPayload: 16 * 1024,
  });
  const hub = new RemoteHub(2, 0);
  const small = encoder.encode("small");
  const bigText = "0123456789".repeat(4_000);
  const big = encoder.encode(bigText);
  out.forward(hub, A.sender, A.ids, small, 0, small.length);
  out.forward(hub, A.sender, B.ids, big, 0, big.length);
  // The small one left first, so order holds; then First, Part, Last.
  assertEquals(sent.map((m) => m[8]), [
    Batch.Whole,
    Batch.First,
    Batch.Part,
    Batch.Last,
  ]);
  assert(sent.every((m) => m.length <= 16 * 1024));
  const { relays, delivered, counters } = relayIn();
  for (const m of sent) relays.receive(m);
  assertEquals(delivered.length, 2);
  assertEquals(delivered[0]!.body, "small");
  assertEquals(delivered[1]!.owned, true);
  assertEquals(delivered[1]!.ids, B.ids);
  assertEquals(delivered[1]!.body, bigText);
  assertEquals([counters.gaps, counters.badMessages], [0, 0]);
  // A server that takes more: the same record fits one message.
  sent.length = 0;
  out.resize(1024 * 1024);
  out.forward(hub, A.sender, B.ids, big, 0, big.length);
  out.flushAll();
  assertEquals(sent.map((m) => m[8]), [Batch.Whole]);
});

/** A status target whose calls are recorded. */
function statusTarget() {
  const said: string[] = [];
  const hubs = new Map<number, RemoteHub>([[2, new RemoteHub(2, 0)]]);
  const clients = new Map<number, RemoteHub>([[
    IDS_PER_EPOCH * 2 + 1,
    hubs.get(2)!,
  ]]);
  const target: StatusTarget & { closed: boolean } = {
    closed: false,
    connected: true,
    counters: zeroCounters(),
    log: (level, message, fields) =>
      said.push(`${level} ${message} ${JSON.stringify(fields)}`),
    view: {
      hubs,
      clients,
      clear: () => {
        hubs.clear();
        clients.clear();
        said.push("clear");
      },
    },
    resize: () => said.push("resize"),
    hello: () => said.push("hello"),
  };
  return { target, said };
}

Deno.test("status: each NATS event acts on the link as documented", () => {
  const { target, said } = statusTarget();
  assert(applyStatus({ type: "disconnect", server: "s:1" }, target));
  assertEquals(target.connected, false);
  assertEquals(said, [
    'warn lost NATS; serving local clients meanwhile {"server":"s:1","hubs":1,"remote_clients":1}',
    "clear",
  ]);
  said.length = 0;
  assert(applyStatus({ type: "reconnecting" }, target), "ignored");
  assert(applyStatus({ type: "reconnect", server: "s:2" }, target));
  assertEquals(target.connected, true);
  assertEquals(said, [
    "resize",
    'info NATS is back; announcing clients {"server":"s:2"}',
    "hello",
  ]);
  said.length = 0;
  assert(applyStatus({ type: "error", error: new Error("boom") }, target));
  assert(
    applyStatus({
      type: "slowConsumer",
      sub: { getSubject: () => "msghub.t.relay.1" },
    }, target),
  );
  assertEquals(said, [
    'warn NATS error {"error":"Error: boom"}',
    'warn NATS calls this hub a slow consumer {"subject":"msghub.t.relay.1"}',
  ]);
  assertEquals(target.connected, true, "errors change nothing else");
  said.length = 0;
  assert(!applyStatus({ type: "close" }, target), "close ends the watch");
  assertEquals(target.connected, false);
  assertEquals(said, [
    "clear",
    "error the NATS connection closed for good; serving local clients only {}",
  ]);
  assertEquals(
    [target.counters.disconnects, target.counters.reconnects],
    [1, 1],
  );
});

/** Status events fed by hand, as `NatsConnection.status()` yields them. */
class StatusFeed implements AsyncIterable<NatsStatus> {
  #queue: NatsStatus[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  push(status: NatsStatus): void {
    this.#queue.push(status);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<NatsStatus> {
    while (true) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = null;
    }
  }
}

Deno.test("status: the watch stops at close, and once the link is closing", async () => {
  const { target } = statusTarget();
  const feed = new StatusFeed();
  const watching = watchStatus(feed, target);
  feed.push({ type: "disconnect", server: "s" });
  feed.push({ type: "close" });
  feed.push({ type: "reconnect", server: "s" });
  await deadline(watching, 5_000, "the watch to end at close");
  assertEquals(target.counters.reconnects, 0, "nothing is read after close");

  const { target: closing } = statusTarget();
  closing.closed = true;
  const late = watchStatus(feed, closing);
  feed.push({ type: "disconnect", server: "s" });
  await deadline(late, 5_000, "the watch to end");
  assertEquals(closing.counters.disconnects, 0);
  assertEquals(closing.connected, true);
});

Deno.test("numbering: a count that went back skips past the numbers in use", async () => {
  let count = 3;
  const said: string[] = [];
  const numbers: HubNumbers = {
    take: () => Promise.resolve(++count),
    skipTo: (next) => {
      count = next - 1;
      return Promise.resolve();
    },
  };
  assertEquals(await takeNumber(numbers, 2, () => said.push("log")), 4);
  assertEquals(said, [], "a number past those in use is taken as is");
  assertEquals(
    await takeNumber(numbers, 9, (_l, message) => said.push(message)),
    10,
  );
  assertEquals(said, ["hub numbering was reset in NATS; skipping past"]);
  // A count that will not move is refused rather than reused.
  const stuck: HubNumbers = {
    take: () => Promise.resolve(1),
    skipTo: () => Promise.resolve(),
  };
  await assertRejects(
    () => takeNumber(stuck, 5, () => {}),
    ClusterError,
    "NATS gave hub number 1, but 5 is in use",
  );
});

Deno.test("numbering: the stream is made once, even when hubs race to make it", async () => {
  const calls: string[] = [];
  const api = (exists: () => boolean, addFails: boolean): StreamApi => ({
    info: (name) => {
      calls.push(`info ${name}`);
      return exists() ? Promise.resolve({}) : Promise.reject(new Error("no"));
    },
    add: (name, subject, replicas) => {
      calls.push(`add ${name} ${subject} ${replicas}`);
      return addFails
        ? Promise.reject(new Error("already in use"))
        : Promise.resolve({});
    },
    purge: (name, seq) => {
      calls.push(`purge ${name} ${seq}`);
      return Promise.resolve({});
    },
    publish: (subject) => {
      calls.push(`publish ${subject}`);
      return Promise.resolve(7);
    },
  });
  // There already.
  const numbers = await hubNumbers(api(() => true, false), "c");
  assertEquals(await numbers.take(), 7);
  await numbers.skipTo(12);
  assertEquals(calls, [
    "info MSGHUB_c_HUBS",
    "publish msghub.c.hubs",
    "purge MSGHUB_c_HUBS 12",
  ]);
  // Missing: made, with the replicas asked for.
  calls.length = 0;
  await hubNumbers(api(() => false, false), "c");
  await hubNumbers(api(() => false, false), "c", 3);
  assertEquals(calls, [
    "info MSGHUB_c_HUBS",
    "add MSGHUB_c_HUBS msghub.c.hubs 1",
    "info MSGHUB_c_HUBS",
    "add MSGHUB_c_HUBS msghub.c.hubs 3",
  ]);
  // Another hub made it between our look and our add.
  calls.length = 0;
  let looks = 0;
  await hubNumbers(api(() => looks++ > 0, true), "c");
  assertEquals(calls.length, 3);
  // Missing and cannot be made: the add's error.
  await assertRejects(
    () => hubNumbers(api(() => false, true), "c"),
    Error,
    "already in use",
  );
  await assertRejects(
    () => hubNumbers(null, "c"),
    ClusterError,
    "no JetStream",
  );
});

Deno.test("start: retries back off to 2 s, log each retry, and stop at the timeout or a fatal error", async () => {
  let clock = 0;
  const pauses: number[] = [];
  const logged: string[] = [];
  const options = {
    what: "connect to NATS",
    timeoutMs: 10_000,
    log: (_: string, message: string, fields: Record<string, unknown>) =>
      logged.push(`${message} ${fields.retry_ms}`),
    now: () => clock,
    sleep: (ms: number) => {
      pauses.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  };
  await assertRejects(
    () => retryStart(() => Promise.reject(new Error("refused")), options),
    Error,
    "refused",
  );
  assertEquals(pauses, [250, 500, 1000, 2000, 2000, 2000, 2000, 250]);
  assertEquals(logged[0], "cannot connect to NATS yet; retrying 250");
  assertEquals(logged.length, pauses.length);
  // Waiting cannot mend a ClusterError: no retry.
  pauses.length = 0;
  await assertRejects(
    () =>
      retryStart(
        () => Promise.reject(new ClusterError("no JetStream")),
        options,
      ),
    ClusterError,
  );
  assertEquals(pauses, []);
  // A try that hangs is given up after attemptMs and tried again.
  clock = 0;
  let tries = 0;
  const value = await retryStart(
    () => ++tries === 1 ? new Promise<number>(() => {}) : Promise.resolve(5),
    { ...options, now: () => performance.now(), attemptMs: 20 },
  );
  assertEquals([value, tries], [5, 2]);
});

Deno.test("receipts: a record asks for an ack, the receiving hub acks it, the sender counts it", async () => {
  // The record carries its ack number; readRecord finds it and the ids.
  const body = encoder.encode("hi");
  const bytes = new Uint8Array(recordSize(2, 2, true));
  writeRecord(bytes, 0, 5, [2 ** 33 + 1, 2 ** 33 + 2], body, 0, 2, 77);
  const view = readRecord(bytes, 0, bytes.length);
  assertEquals([view.ack, view.n, view.sender], [77, 2, 5]);
  assertEquals(readU64(bytes, view.idsStart + 8), BigInt(2 ** 33 + 2));
  assertEquals(bytes.subarray(view.bodyStart, view.end), body);

  // The receiving hub delivers it, then acks what it did, once per task.
  const published: { subject: string; bytes: Uint8Array }[] = [];
  const acks = new AckOutbox(
    3,
    "msghub.t.ack.",
    (subject, bytes) => published.push({ subject, bytes }),
  );
  const relays = new RelayIn({
    host: {
      deliverRemote: (_source, _record, _owned, outcome) => {
        outcome!.delivered = 1;
        outcome!.unknown.push(2 ** 33 + 2);
      },
    },
    hubs: new Map(),
    counters: zeroCounters(),
    malformed: () => {},
    acks,
  });
  relays.receive(message(2, 1, Batch.Whole, bytes));
  assertEquals(published, []);
  await Promise.resolve();
  assertEquals(published.map((p) => p.subject), ["msghub.t.ack.2"]);
  const { hub, acks: said } = decodeAcks(published[0]!.bytes);
  assertEquals(hub, 3);
  assertEquals(said, [{ ack: 77, delivered: 1, unknown: [2 ** 33 + 2] }]);

  // The sending hub: confirmed, lost with its hub, or failed all at once.
  const receipts = new Receipts(60_000);
  const one = receipts.expect(3, [2 ** 33 + 1, 2 ** 33 + 2]);
  const two = receipts.expect(4, [2 ** 34 + 1]);
  const three = receipts.expect(3, [2 ** 33 + 9]);
  // An ack from another hub than the one asked is not taken.
  receipts.confirm(4, { ack: one.ack, delivered: 2, unknown: [] });
  receipts.confirm(3, { ...said[0]!, ack: one.ack });
  assertEquals(await one.promise, { delivered: 1, unknown: [2 ** 33 + 2] });
  receipts.forget(4);
  assertEquals(await two.promise, { delivered: 0, unknown: [2 ** 34 + 1] });
  receipts.failAll();
  assertEquals(await three.promise, { delivered: 0, unknown: [2 ** 33 + 9] });
  assertEquals(receipts.size, 0);
});

/** A NATS connection stand-in: what is published is kept, the rest fed. */
class FakeNats implements ClusterConnection {
  readonly info = { max_payload: 1024 * 1024 };
  readonly published: { subject: string; bytes: Uint8Array }[] = [];
  readonly statuses = new StatusFeed();
  readonly #subs = new Map<string, (msg: { data: Uint8Array }) => void>();
  #closed = false;
  drained = false;

  publish(subject: string, payload: Uint8Array): void {
    this.published.push({ subject, bytes: payload.slice() });
  }

  subscribe(
    subject: string,
    options: {
      callback: (error: Error | null, msg: { data: Uint8Array }) => void;
    },
  ): { unsubscribe(): void } {
    this.#subs.set(subject, (msg) => options.callback(null, msg));
    return { unsubscribe: () => this.#subs.delete(subject) };
  }

  /** Delivers `data` on `subject` as NATS would. */
  deliver(subject: string, data: Uint8Array): void {
    const callback = this.#subs.get(subject);
    if (callback === undefined) {
      throw new Error(`no subscription to ${subject}`);
    }
    callback({ data });
  }

  /** The presence messages published on `subject`, decoded. */
  presence(subject = "msghub.t.presence"): PresenceMessage[] {
    return this.published.filter((m) => m.subject === subject)
      .map((m) => decodePresence(m.bytes));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
  status(): AsyncIterable<NatsStatus> {
    return this.statuses;
  }
  getServer(): string {
    return "fake:4222";
  }
  drain(): Promise<void> {
    this.drained = true;
    this.#closed = true;
    this.statuses.end();
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.#closed = true;
    this.statuses.end();
    return Promise.resolve();
  }
  isClosed(): boolean {
    return this.#closed;
  }
}

/** A hub as the link sees it, with two local clients. */
function fakeHost(number: number) {
  const delivered: Delivered[] = [];
  const logs: string[] = [];
  let changes = 0;
  const host: ClusterHost = {
    localIds: () => [number * IDS_PER_EPOCH + 1, number * IDS_PER_EPOCH + 2],
    localCount: () => 2,
    deliverRemote: (bytes, record, owned) =>
      delivered.push(readDelivery(bytes, record, owned)),
    presenceChanged: () => changes++,
    log: (level, message) => logs.push(`${level} ${message}`),
  };
  return { host, delivered, logs, changes: () => changes };
}

Deno.test("link: composed over a stand-in connection, fed by hand", async () => {
  const nats = new FakeNats();
  const { host, delivered, logs, changes } = fakeHost(5);
  const link = new ClusterLink(
    nats,
    5,
    () => Promise.resolve(6),
    { servers: [], name: "t", heartbeatMs: 60_000, deadAfterMs: 60_000 },
    host.log,
  );
  await link.start(host);
  // It said hello and sent its snapshot.
  assertEquals(nats.presence().map((m) => m.kind), [
    Presence.Hello,
    Presence.Snapshot,
  ]);
  assertEquals(nats.presence().at(-1), {
    kind: Presence.Snapshot,
    hub: 5,
    seq: 0,
    part: 0,
    parts: 1,
    ids: [5 * IDS_PER_EPOCH + 1, 5 * IDS_PER_EPOCH + 2],
  });

  // Hub 2 joins with one client: it shows in the view, and gets our snapshot.
  nats.deliver(
    "msghub.t.presence",
    encodePresence({
      kind: Presence.Snapshot,
      hub: 2,
      seq: 0,
      part: 0,
      parts: 1,
      ids: [2 * IDS_PER_EPOCH + 1],
    }),
  );
  assertEquals([...link.view.clients.keys()], [2 * IDS_PER_EPOCH + 1]);
  assertEquals(changes(), 1);
  // A malformed presence message is counted, not thrown.
  nats.deliver("msghub.t.presence", new Uint8Array(3));
  assertEquals(link.metrics().badMessages, 1);
  assert(logs.includes("warn malformed presence message from the cluster"));

  // Relays: in on our subject, delivered; out to hub 2 on its own.
  nats.deliver("msghub.t.relay.5", whole(2, 1, A));
  assertEquals(delivered, [{ ...A, owned: false }]);
  nats.deliver("msghub.t.relay.5", new Uint8Array(2));
  assertEquals(link.metrics().badMessages, 2);
  const body = encoder.encode("out");
  link.forward(
    link.view.hubs.get(2)!,
    5 * IDS_PER_EPOCH + 1,
    [2 * IDS_PER_EPOCH + 1],
    body,
    0,
    3,
  );
  await Promise.resolve();
  assertEquals(nats.published.at(-1)?.subject, "msghub.t.relay.2");

  // Clients that come and go are announced together, at the end of the task.
  link.joined(5 * IDS_PER_EPOCH + 3);
  link.left(5 * IDS_PER_EPOCH + 1);
  await Promise.resolve();
  assertEquals(nats.presence().at(-1), {
    kind: Presence.Delta,
    hub: 5,
    seq: 1,
    joined: [5 * IDS_PER_EPOCH + 3],
    left: [5 * IDS_PER_EPOCH + 1],
  });

  // NATS goes away: the other hubs are forgotten, relays to them unknown.
  nats.statuses.push({ type: "disconnect", server: "fake:4222" });
  await waitFor(() => !link.metrics().connected, "the link to see NATS gone");
  assertEquals(link.view.hubs.size, 0);
  assertEquals(link.metrics().disconnects, 1);
  // It comes back: our clients are announced again.
  const before = nats.presence().length;
  nats.statuses.push({ type: "reconnect", server: "fake:4222" });
  await waitFor(() => link.metrics().connected, "the link to see NATS back");
  assertEquals(
    nats.presence().slice(before).map((m) => m.kind),
    [Presence.Hello, Presence.Snapshot],
  );
  assertEquals(link.metrics().reconnects, 1);

  // Leaving says goodbye once; closing drains.
  await link.close();
  assertEquals(nats.presence().at(-1)?.kind, Presence.Bye);
  assertEquals(
    nats.presence().filter((m) => m.kind === Presence.Bye).length,
    1,
  );
  assert(nats.drained);
  const count = nats.published.length;
  link.leave();
  link.forward(new RemoteHub(2, 0), 1, [2 * IDS_PER_EPOCH + 1], body, 0, 3);
  await Promise.resolve();
  assertEquals(nats.published.length, count, "nothing is sent once closed");
});

Deno.test("link: a refused publish is counted, logged once, never thrown", async () => {
  const nats = new FakeNats();
  const { host, logs } = fakeHost(5);
  nats.publish = () => {
    throw new Error("connection draining");
  };
  const link = new ClusterLink(
    nats,
    5,
    () => Promise.resolve(6),
    { servers: [], name: "t", heartbeatMs: 60_000, deadAfterMs: 60_000 },
    host.log,
  );
  await link.start(host);
  // The hello and the snapshot both failed.
  assertEquals(link.metrics().publishErrors, 2);
  assertEquals(logs.filter((line) => line.includes("cannot publish")), [
    "warn cannot publish to NATS",
  ]);
  await link.close();
});

Deno.test("presence: a stall of this hub's own does not count as the others' silence", async () => {
  const events: string[] = [];
  const presence = new PresenceExchange({
    number: 1,
    subject: "msghub.t.presence",
    publish: () => {},
    maxPayload: () => 1024 * 1024,
    epoch: () => 1,
    heartbeatMs: 10,
    deadAfterMs: 50,
    counters: zeroCounters(),
    malformed: () => {},
    log: (_level, message) => events.push(message),
    hubGone: (hub) => events.push(`gone ${hub}`),
  });
  const snapshot = (hub: number) =>
    encodePresence({
      kind: Presence.Snapshot,
      hub,
      seq: 0,
      part: 0,
      parts: 1,
      ids: [hub * IDS_PER_EPOCH + 1],
    });
  presence.receive(snapshot(2));
  presence.beat();
  // The sweep after a heartbeat runs once the input waiting is read.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(presence.view.hubs.size, 1);
  // This hub is stalled (its thread busy) for twice the dead-after; hub 2
  // said nothing meanwhile only as far as this hub could tell.
  const stalledUntil = performance.now() + 100;
  while (performance.now() < stalledUntil);
  presence.beat();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(events, ["hub joined"], "hub 2 was taken for dead");
  assertEquals(presence.view.hubs.size, 1);
  // Beating on time, hub 2's silence counts: the sweeps drop it.
  const silentUntil = performance.now() + 60;
  while (performance.now() < silentUntil) {
    const next = performance.now() + 5;
    while (performance.now() < next);
    presence.beat();
  }
  presence.receive(snapshot(3)); // hub 3 speaks; hub 2 stays silent
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(events.slice(1), ["hub joined", "gone 2", "hub lost"]);
  presence.bye();
});
