/**
 * Back-pressure across hubs: a window of relay bytes per pair of hubs. The
 * sending hub counts the bytes of the records it sends each other hub
 * ({@linkcode Windows}); past {@linkcode WINDOW_BYTES} not yet credited, the
 * window is pressed, and a local sender whose relay went there pauses its
 * reads for it, as it does for a local receiver past its mark (at most
 * `--max-stall` per read). The receiving hub credits the relay messages it
 * has handled ({@linkcode Credits}): by their sequence number, in order, on
 * `msghub.<name>.credit.<hub>`. A message that left one of its receivers
 * past the mark of its queue is credited only once that receiver's queue is
 * below the mark again, or closed: a receiver that reads slows the senders
 * down to its pace instead of being cut, and one that does not read holds
 * the window only until it is cut at its bound.
 *
 * Credits are cumulative, so a credit message lost costs nothing once the
 * next arrives, and a relay message lost (a gap in the sequence numbers) is
 * credited by the next one handled. Nothing here touches NATS.
 *
 * @example A window pressed past its size, released by a credit
 * ```ts
 * import { Windows } from "./credit.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const windows = new Windows(100);
 * windows.add(2, 60);
 * windows.published(2, 1);
 * assertEquals(windows.pressure(2), null);
 * windows.add(2, 60);
 * windows.published(2, 2);
 * const window = windows.pressure(2)!;
 * const released = window.queue.below(window.queue.mark);
 * windows.credit(2, 1);
 * await released;
 * assertEquals(windows.pressure(2), null);
 * ```
 *
 * @module
 */
import type { Malformed, Pressure, PressureSink, Publish } from "./types.ts";

/** Bytes of relay records one hub may have in flight to another. */
export const WINDOW_BYTES = 2 * 1024 * 1024;

/**
 * A receiving hub sends a credit once it has handled this many bytes since
 * its last one (or at once when a held message is released): far fewer
 * credits than relay messages, and never enough left unsaid to press a
 * window, which takes {@linkcode WINDOW_BYTES}.
 */
export const CREDIT_QUANTUM = 256 * 1024;

/** The size of a credit message: u32 crediting hub, u32 sequence number. */
export const CREDIT_SIZE = 8;

/** Whether sequence number `a` comes at or before `b`, counting round 2^32. */
function upTo(a: number, b: number): boolean {
  return ((b - a) >>> 0) < 0x8000_0000;
}

/** Encodes a credit from hub `hub` for every relay message up to `seq`. */
export function encodeCredit(hub: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(CREDIT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, hub);
  view.setUint32(4, seq);
  return bytes;
}

/** Reads a credit message; throws a RangeError on a malformed one. */
export function decodeCredit(bytes: Uint8Array): { hub: number; seq: number } {
  if (bytes.length !== CREDIT_SIZE) {
    throw new RangeError(
      `a credit is ${CREDIT_SIZE} bytes, not ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { hub: view.getUint32(0), seq: view.getUint32(4) };
}

/** The relay bytes in flight from this hub to one other hub. */
export class Window implements Pressure {
  /** Bytes in flight past which the window is pressed. */
  readonly mark: number;
  /** Itself: a sender pausing for a window waits as for a receiver's queue. */
  readonly queue: Window = this;
  /** Bytes of records sent, ever. */
  #sent = 0;
  /** Bytes of records credited, ever. */
  #credited = 0;
  /** Relay messages published and not yet credited: seq, and #sent then. */
  #seqs: number[] = [];
  #ends: number[] = [];
  #head = 0;
  #waiters: { bytes: number; resolve: () => void; promise: Promise<void> }[] =
    [];

  /**
   * Makes an empty window.
   *
   * @param size bytes in flight past which it is pressed
   */
  constructor(size: number) {
    this.mark = size;
  }

  /** Bytes sent and not yet credited. */
  get inFlight(): number {
    return this.#sent - this.#credited;
  }

  /** Whether more than {@linkcode mark} bytes are in flight. */
  get pressed(): boolean {
    return this.#sent - this.#credited > this.mark;
  }

  /** A record of `bytes` was queued for the hub. */
  add(bytes: number): void {
    this.#sent += bytes;
  }

  /** Relay message `seq` left, carrying every record added so far. */
  published(seq: number): void {
    this.#seqs.push(seq);
    this.#ends.push(this.#sent);
  }

  /** The hub handled every relay message up to `seq`. */
  credit(seq: number): void {
    let credited = -1;
    while (
      this.#head < this.#seqs.length && upTo(this.#seqs[this.#head]!, seq)
    ) {
      credited = this.#ends[this.#head]!;
      this.#head++;
    }
    if (credited < 0) return;
    if (this.#head === this.#seqs.length) {
      this.#seqs = [];
      this.#ends = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#seqs.length) {
      this.#seqs = this.#seqs.slice(this.#head);
      this.#ends = this.#ends.slice(this.#head);
      this.#head = 0;
    }
    this.#credited = Math.max(this.#credited, credited);
    this.#wake();
  }

  /** Forgets what is in flight (lost with the connection): nothing is. */
  reset(): void {
    this.#credited = this.#sent;
    this.#seqs = [];
    this.#ends = [];
    this.#head = 0;
    this.#wake();
  }

  /** Resolves once at most `bytes` are in flight. */
  below(bytes: number): Promise<void> {
    if (this.inFlight <= bytes) return Promise.resolve();
    // Senders that gave up waiting (at --max-stall) leave their promise
    // behind: share one per threshold, so that they do not pile up.
    const waiting = this.#waiters.find((waiter) => waiter.bytes === bytes);
    if (waiting !== undefined) return waiting.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => resolve = done);
    this.#waiters.push({ bytes, resolve, promise });
    return promise;
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const inFlight = this.inFlight;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (inFlight > waiter.bytes) return true;
      waiter.resolve();
      return false;
    });
  }
}

/** The sending hub's side: a {@linkcode Window} per other hub. */
export class Windows {
  readonly #size: number;
  readonly #windows = new Map<number, Window>();

  /**
   * Makes the part.
   *
   * @param size bytes in flight past which a window is pressed
   */
  constructor(size: number = WINDOW_BYTES) {
    this.#size = size;
  }

  /** Hub `hub`'s window, made on first use. */
  get(hub: number): Window {
    let window = this.#windows.get(hub);
    if (window === undefined) {
      window = new Window(this.#size);
      this.#windows.set(hub, window);
    }
    return window;
  }

  /** A record of `bytes` was queued for hub `hub`. */
  add(hub: number, bytes: number): void {
    this.get(hub).add(bytes);
  }

  /** Relay message `seq` left for hub `hub`. */
  published(hub: number, seq: number): void {
    this.#windows.get(hub)?.published(seq);
  }

  /** Hub `hub` credited its relay messages up to `seq`. */
  credit(hub: number, seq: number): void {
    this.#windows.get(hub)?.credit(seq);
  }

  /** Hub `hub`'s window when it is pressed, else null. */
  pressure(hub: number): Window | null {
    const window = this.#windows.get(hub);
    return window !== undefined && window.pressed ? window : null;
  }

  /** Hub `hub` left or was lost: its window goes, and who waits on it wakes. */
  forget(hub: number): void {
    this.#windows.get(hub)?.reset();
    this.#windows.delete(hub);
  }

  /** NATS went out of reach: what was in flight is lost, so nothing is. */
  resetAll(): void {
    for (const window of this.#windows.values()) window.reset();
  }
}

/** What a receiving hub has handled of one other hub's relay messages. */
class Source {
  /** The last sequence number credited in our mind (sent or not). */
  released = 0;
  /** Bytes released since the last credit sent. */
  unsent = 0;
  /** Handled messages waiting for receivers to drain, in order. */
  held: { seq: number; bytes: number; waits: number }[] = [];
  /** A message was released from hold: credit at once. */
  urgent = false;
}

/**
 * The receiving hub's side: it credits each other hub's relay messages as
 * it handles them, holding back those that left a receiver's queue past its
 * mark until that queue is below it again. The relay path reports those
 * receivers through {@linkcode pressure}, as it does to a local sender.
 */
export class Credits implements PressureSink {
  readonly #number: number;
  readonly #prefix: string;
  readonly #publish: Publish;
  readonly #sources = new Map<number, Source>();
  /** Receivers the message being handled left pressed. */
  #pressed: Pressure[] = [];
  #scheduled = false;

  /**
   * Makes the part.
   *
   * @param number this hub's number
   * @param prefix credit subjects: the prefix, then the sending hub's number
   * @param publish sends one message
   */
  constructor(number: number, prefix: string, publish: Publish) {
    this.#number = number;
    this.#prefix = prefix;
    this.#publish = publish;
  }

  /** Always null: a receiver the relay path reports is only noted. */
  get pressure(): Pressure | null {
    return null;
  }

  /** The relay path left this receiver past its mark: note it. */
  set pressure(pressure: Pressure | null) {
    if (pressure !== null && !this.#pressed.includes(pressure)) {
      this.#pressed.push(pressure);
    }
  }

  /** Messages held back now, over all sending hubs. */
  get holding(): number {
    let held = 0;
    for (const source of this.#sources.values()) held += source.held.length;
    return held;
  }

  /**
   * Relay message `seq` of `bytes` from hub `from` is handled: credit it,
   * now or once the receivers it pressed (reported meanwhile) drain.
   */
  handled(from: number, seq: number, bytes: number): void {
    const pressed = this.#pressed;
    if (pressed.length > 0) this.#pressed = [];
    let source = this.#sources.get(from);
    if (source === undefined || seq === 1) {
      // A sender that starts over (a new link to us) begins again at 1.
      source = new Source();
      this.#sources.set(from, source);
    }
    if (pressed.length === 0 && source.held.length === 0) {
      this.#release(source, seq, bytes);
      return;
    }
    const entry = { seq, bytes, waits: pressed.length };
    source.held.push(entry);
    const current = source;
    for (const pressure of pressed) {
      pressure.queue.below(pressure.queue.mark).then(() => {
        entry.waits--;
        if (this.#sources.get(from) !== current) return;
        current.urgent = true;
        this.#drain(current);
      });
    }
  }

  /** Hub `from` left or was lost: forget what it sent. */
  forget(from: number): void {
    this.#sources.delete(from);
  }

  /** Releases the held messages at the front that wait for nothing now. */
  #drain(source: Source): void {
    while (source.held.length > 0 && source.held[0]!.waits <= 0) {
      const entry = source.held.shift()!;
      this.#release(source, entry.seq, entry.bytes);
    }
  }

  #release(source: Source, seq: number, bytes: number): void {
    source.released = seq;
    source.unsent += bytes;
    if (
      !this.#scheduled && (source.urgent || source.unsent >= CREDIT_QUANTUM)
    ) {
      this.#scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** Sends the credits due now. */
  flush = (): void => {
    this.#scheduled = false;
    for (const [from, source] of this.#sources) {
      if (source.unsent === 0) continue;
      if (!source.urgent && source.unsent < CREDIT_QUANTUM) continue;
      source.unsent = 0;
      source.urgent = false;
      this.#publish(
        this.#prefix + from,
        encodeCredit(this.#number, source.released),
      );
    }
  };
}

/**
 * Both sides of a hub's back-pressure, as its link uses them: its windows
 * to the other hubs, the credits it owes them, and its credit subject.
 */
export class Flow {
  /** Where other hubs credit this one's relays. */
  readonly subject: string;
  /** Relay bytes in flight to each other hub. */
  readonly windows: Windows = new Windows();
  /** Credits owed to other hubs for their relays; `RelayIn` reports to it. */
  readonly credits: Credits;
  readonly #malformed: Malformed;

  /**
   * Makes the part.
   *
   * @param number this hub's number
   * @param name the cluster's name
   * @param publish sends one message
   * @param malformed told of a malformed credit
   */
  constructor(
    number: number,
    name: string,
    publish: Publish,
    malformed: Malformed,
  ) {
    const prefix = `msghub.${name}.credit.`;
    this.subject = prefix + number;
    this.credits = new Credits(number, prefix, publish);
    this.#malformed = malformed;
  }

  /**
   * A record to `ids` with the body `[bodyStart..bodyEnd)` was queued for
   * hub `hub`: counted against its window.
   */
  add(
    hub: number,
    ids: readonly number[],
    bodyStart: number,
    bodyEnd: number,
  ): void {
    this.windows.add(hub, 16 + 8 * ids.length + bodyEnd - bodyStart);
  }

  /** A credit message arrived on {@linkcode subject}. */
  receive(data: Uint8Array): void {
    let credit;
    try {
      credit = decodeCredit(data);
    } catch (error) {
      return this.#malformed("credit", error);
    }
    this.windows.credit(credit.hub, credit.seq);
  }

  /** Hub `hub` left or was lost: forget both sides of it. */
  forget(hub: number): void {
    this.windows.forget(hub);
    this.credits.forget(hub);
  }
}
