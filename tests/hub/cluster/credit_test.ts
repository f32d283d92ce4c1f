/**
 * Back-pressure across hubs, part by part and without NATS: the sending
 * hub's windows and the receiving hub's credits (hub/cluster/credit.ts).
 */
import { assert, assertEquals } from "../../_assert.ts";
import {
  CREDIT_QUANTUM,
  Credits,
  decodeCredit,
  encodeCredit,
  Window,
  Windows,
} from "../../../hub/cluster/credit.ts";
import type { Pressure } from "../../../hub/cluster/types.ts";

/** A receiver's queue past its mark until `drain()` is called. */
function pressedReceiver(): { pressure: Pressure; drain: () => void } {
  let drain!: () => void;
  const drained = new Promise<void>((resolve) => drain = resolve);
  return {
    pressure: { queue: { mark: 100, below: () => drained } },
    drain,
  };
}

/** Credits that record what they send, as `to seq`. */
function recording(): { credits: Credits; sent: string[] } {
  const sent: string[] = [];
  const credits = new Credits(7, "msghub.t.credit.", (subject, bytes) => {
    const { hub, seq } = decodeCredit(bytes);
    assertEquals(hub, 7);
    sent.push(`${subject.slice("msghub.t.credit.".length)} ${seq}`);
  });
  return { credits, sent };
}

/** Lets queued microtasks and promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("a credit encodes and decodes; a wrong size is refused", () => {
  assertEquals(decodeCredit(encodeCredit(2 ** 32 - 1, 5)), {
    hub: 2 ** 32 - 1,
    seq: 5,
  });
  let refused = false;
  try {
    decodeCredit(new Uint8Array(7));
  } catch (error) {
    refused = error instanceof RangeError;
  }
  assert(refused, "a short credit is refused");
});

Deno.test("a window is pressed past its size and released by credits, cumulatively", async () => {
  const window = new Window(100);
  window.add(80);
  window.published(1);
  assert(!window.pressed);
  window.add(80);
  window.published(2);
  window.add(80);
  window.published(3);
  assert(window.pressed);
  assertEquals(window.inFlight, 240);
  // Senders that gave up waiting share one promise.
  const waiting = window.below(window.mark);
  assert(window.below(window.mark) === waiting, "one promise per threshold");
  let released = false;
  waiting.then(() => released = true);
  window.credit(1);
  await settle();
  assert(!released, "160 bytes are still in flight");
  // Message 2 was lost on the way: the credit for 3 covers it.
  window.credit(3);
  await waiting;
  assertEquals(window.inFlight, 0);
  // A stale credit changes nothing.
  window.add(50);
  window.published(4);
  window.credit(2);
  assertEquals(window.inFlight, 50);
});

Deno.test("sequence numbers that wrap round 2^32 still credit in order", () => {
  const window = new Window(10);
  window.add(20);
  window.published(2 ** 32 - 1);
  window.add(20);
  window.published(0);
  window.add(20);
  window.published(1);
  window.credit(0);
  assertEquals(window.inFlight, 20);
  window.credit(1);
  assertEquals(window.inFlight, 0);
});

Deno.test("windows forget a hub or everything in flight, and wake who waits", async () => {
  const windows = new Windows(10);
  windows.add(2, 20);
  windows.published(2, 1);
  windows.add(3, 20);
  windows.published(3, 1);
  const two = windows.pressure(2)!;
  const three = windows.pressure(3)!;
  const waits = [
    two.queue.below(two.queue.mark),
    three.queue.below(three.queue.mark),
  ];
  windows.forget(2);
  windows.resetAll();
  await Promise.all(waits);
  assertEquals(windows.pressure(2), null);
  assertEquals(windows.pressure(3), null);
  // A credit from a hub it never sent to is ignored.
  windows.credit(9, 1);
});

Deno.test("credits go out once a quantum is handled, for the last message handled", async () => {
  const { credits, sent } = recording();
  const size = CREDIT_QUANTUM / 4;
  for (let seq = 1; seq <= 3; seq++) credits.handled(2, seq, size);
  await settle();
  assertEquals(sent, [], "less than a quantum: not worth a message yet");
  // Message 4 went missing: 5 credits it too.
  credits.handled(2, 5, size);
  await settle();
  assertEquals(sent, ["2 5"]);
});

Deno.test("a message that left a receiver pressed is credited once it drains, in order", async () => {
  const { credits, sent } = recording();
  const receiver = pressedReceiver();
  credits.handled(2, 1, 10);
  // The relay path reports the receiver while it delivers message 2.
  credits.pressure = receiver.pressure;
  credits.pressure = receiver.pressure;
  credits.handled(2, 2, 10);
  // Message 3 pressed nobody, but waits behind 2.
  credits.handled(2, 3, CREDIT_QUANTUM);
  await settle();
  assertEquals(sent, [], "held behind the pressed receiver");
  assertEquals(credits.holding, 2);
  assertEquals(credits.pressure, null, "only noted, never read back");
  receiver.drain();
  await settle();
  assertEquals(sent, ["2 3"], "credited at once once it drains");
  assertEquals(credits.holding, 0);
});

Deno.test("a sending hub that starts over, or is forgotten, is credited afresh", async () => {
  const { credits, sent } = recording();
  const receiver = pressedReceiver();
  credits.pressure = receiver.pressure;
  credits.handled(2, 8, 10);
  // A new link from hub 2 begins again at 1: what was held is dropped.
  credits.handled(2, 1, CREDIT_QUANTUM);
  await settle();
  assertEquals(sent, ["2 1"]);
  credits.pressure = receiver.pressure;
  credits.handled(3, 4, 10);
  credits.forget(3);
  receiver.drain();
  await settle();
  assertEquals(sent, ["2 1"], "nothing for a forgotten hub");
});
