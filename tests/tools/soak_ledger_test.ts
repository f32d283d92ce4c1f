import { assertEquals } from "../_assert.ts";
import {
  FrameParser,
  Kind,
  readU64,
  REQUEST_LIMITS,
} from "../../protocol/mod.ts";
import { encodeSoakRelay } from "../../tools/soak/client.ts";
import {
  checkSoakBody,
  type Inbox,
  SoakLedger,
  writeSoakBody,
} from "../../tools/soak/ledger.ts";

const SIZE = 16;

function body(seq: number, size = SIZE): Uint8Array {
  const out = new Uint8Array(size);
  writeSoakBody(out, 0, seq, size);
  return out;
}

/** A ledger over clients 1, 2 and 3; `leave` takes one away. */
function setup() {
  const inboxes = new Map<number, Inbox>();
  for (const id of [1, 2, 3]) {
    inboxes.set(id, { id, awaiting: 0, lastFrom: null });
  }
  const ledger = new SoakLedger(SIZE, (id) => inboxes.get(id));
  const inbox = (id: number) => inboxes.get(id)!;
  const leave = (id: number) => inboxes.delete(id);
  return { ledger, inbox, leave };
}

Deno.test("soak ledger: queued and read is delivered, queued and unread is lost", () => {
  const { ledger, inbox } = setup();
  const read = ledger.record(1, 2);
  const unread = ledger.record(1, 2);
  ledger.receipt(read, 1);
  ledger.receipt(unread, 1);
  assertEquals(inbox(2).awaiting, 2);
  ledger.arrival(inbox(2), 1, body(read));
  assertEquals(inbox(2).awaiting, 1);
  assertEquals(ledger.delivered, 1);
  assertEquals(ledger.verdict(), {
    lost: 1,
    abandoned: 0,
    unconfirmed: 0,
    missingReceipts: 0,
  });
});

Deno.test("soak ledger: a read before its receipt does not wait for anything", () => {
  const { ledger, inbox } = setup();
  const seq = ledger.record(1, 2);
  ledger.arrival(inbox(2), 1, body(seq));
  ledger.receipt(seq, 1);
  assertEquals(inbox(2).awaiting, 0);
  assertEquals(ledger.verdict().lost, 0);
});

Deno.test("soak ledger: relays to or from clients that left cannot be judged", () => {
  const { ledger, leave } = setup();
  const toGone = ledger.record(1, 2);
  ledger.receipt(toGone, 1);
  const fromGone = ledger.record(3, 1);
  const fromLive = ledger.record(1, 3);
  const refused = ledger.record(1, 3);
  ledger.receipt(refused, 0);
  leave(2);
  leave(3);
  assertEquals(ledger.verdict(), {
    lost: 0,
    abandoned: 1,
    unconfirmed: 1,
    missingReceipts: 1,
  });
  assertEquals(ledger.notQueued, 1);
  assertEquals([fromGone, fromLive], [1, 2]);
});

Deno.test("soak ledger: duplicates, misroutes, reorders, corruption and phantoms are counted", () => {
  const { ledger, inbox } = setup();
  const first = ledger.record(1, 2);
  const second = ledger.record(1, 2);
  const refused = ledger.record(3, 2);
  ledger.receipt(first, 1);
  ledger.receipt(second, 1);
  ledger.receipt(refused, 0);
  ledger.arrival(inbox(2), 1, body(second));
  ledger.arrival(inbox(2), 1, body(first));
  assertEquals(ledger.reordered, 1);
  ledger.arrival(inbox(2), 1, body(second));
  assertEquals(ledger.duplicates, 1);
  ledger.arrival(inbox(3), 1, body(first));
  ledger.arrival(inbox(2), 3, body(first));
  assertEquals(ledger.misrouted, 2);
  const flipped = body(first);
  flipped[9]! ^= 1;
  ledger.arrival(inbox(2), 1, flipped);
  ledger.arrival(inbox(2), 1, body(first, SIZE + 1));
  ledger.arrival(inbox(2), 1, body(99));
  assertEquals(ledger.corrupt, 3);
  ledger.arrival(inbox(2), 3, body(refused));
  assertEquals(ledger.phantoms, 1);
  ledger.receipt(first, 1);
  ledger.receipt(ledger.record(1, 2), 2);
  assertEquals(ledger.badReceipts, 2);
  assertEquals(ledger.delivered, 3);
});

Deno.test("soak ledger: grows past its first arrays", () => {
  const { ledger, inbox } = setup();
  for (let i = 0; i < 5000; i++) {
    const seq = ledger.record(1, 2);
    ledger.receipt(seq, 1);
    if (i % 2 === 0) ledger.arrival(inbox(2), 1, body(seq));
  }
  assertEquals(ledger.verdict().lost, 2500);
  assertEquals(inbox(2).awaiting, 2500);
});

Deno.test("soak relay frames parse as RELAY_RECEIPTED with an intact body", () => {
  const frame = encodeSoakRelay(0x1_0000_0002, 123_456, 300);
  const frames: Array<[number, Uint8Array]> = [];
  new FrameParser(REQUEST_LIMITS, (kind, payload) => {
    frames.push([kind, payload.slice()]);
  }).parse(frame);
  assertEquals(frames.length, 1);
  const [kind, payload] = frames[0]!;
  assertEquals(kind, Kind.RelayReceipted);
  assertEquals(payload[0], 1);
  assertEquals(readU64(payload, 1), 0x1_0000_0002n);
  assertEquals(checkSoakBody(payload.subarray(9)), 123_456);
  assertEquals(payload.length, 1 + 8 + 300);
});
