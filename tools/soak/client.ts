/**
 * One soak connection over raw binary frames: lighter than the client
 * library at 10,000 connections. It registers with IDENTITY, answers PINGs,
 * sends receipted relays and reports what it reads to the ledger.
 *
 * @module
 */
import {
  encodeFrame,
  FrameParser,
  HEADER_SIZE,
  Kind,
  ProtocolError,
  readU32,
  REPLY_LIMITS,
  writeHeader,
  writeU64,
} from "../../protocol/mod.ts";
import { type Inbox, type SoakLedger, writeSoakBody } from "./ledger.ts";

/** Every connection reads into a buffer of its own this large. */
const READ_SIZE = 8 * 1024;
const IDENTITY = encodeFrame(Kind.Identity);
const PONG = encodeFrame(Kind.Pong);
const TWO_32 = 0x1_0000_0000;

/** Why a connection ended without the soak closing it. */
export interface HubClose {
  /** `ERROR n`, `end of stream`, `reset`, `bad frame`. */
  cause: string;
  /** The ERROR message, or the exception. */
  detail: string;
}

/** Where a connection reports that the hub ended it. */
export type OnHubClose = (client: SoakClient, close: HubClose) => void;

/** Raised when a connection cannot be opened and registered. */
export class SoakOpenError extends Error {
  /** Makes the error; `options.cause` is what went wrong underneath. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SoakOpenError";
  }
}

/**
 * A RELAY_RECEIPTED frame to one receiver with a soak body.
 *
 * @example
 * ```ts
 * import { encodeSoakRelay } from "./client.ts";
 * const frame = encodeSoakRelay(7, 0, 16);
 * if (frame.length !== 5 + 1 + 8 + 16) throw new Error("Wrong size");
 * ```
 */
export function encodeSoakRelay(
  receiverId: number,
  seq: number,
  size: number,
): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + 1 + 8 + size);
  writeHeader(frame, 0, Kind.RelayReceipted, 1 + 8 + size);
  frame[HEADER_SIZE] = 1;
  writeU64(frame, HEADER_SIZE + 1, receiverId);
  writeSoakBody(frame, HEADER_SIZE + 9, seq, size);
  return frame;
}

/** A registered connection to the hub. */
export class SoakClient implements Inbox {
  /** The hub's user id, known once registered. */
  id = 0;
  awaiting = 0;
  lastFrom: Map<number, number> | null = null;
  /** Index in the run's list of live clients, or -1. */
  slot: number = -1;
  /** Resolves when the read loop has ended. */
  readonly done: Promise<void>;
  #conn: Deno.TcpConn;
  #ledger: SoakLedger;
  #onHubClose: OnHubClose;
  #parser: FrameParser;
  #out: Uint8Array[] = [];
  #writing = false;
  #closing = false;
  #ended = false;
  #error: HubClose | null = null;
  #receipts: number[] = [];
  #receiptHead = 0;
  #registered: (id: number) => void = () => {};
  #failed: (reason: string) => void = () => {};

  private constructor(
    conn: Deno.TcpConn,
    ledger: SoakLedger,
    onHubClose: OnHubClose,
  ) {
    this.#conn = conn;
    this.#ledger = ledger;
    this.#onHubClose = onHubClose;
    this.#parser = new FrameParser(REPLY_LIMITS, this.#onFrame);
    this.done = this.#readLoop();
  }

  /** Connects, registers and resolves once the hub told the client its id. */
  static async open(
    address: Deno.NetAddr,
    ledger: SoakLedger,
    onHubClose: OnHubClose,
    timeoutMs: number,
  ): Promise<SoakClient> {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({
        hostname: address.hostname,
        port: address.port,
      });
      conn.setNoDelay(true);
    } catch (error) {
      throw new SoakOpenError(
        `Cannot connect: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let client: SoakClient | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        client = new SoakClient(conn, ledger, onHubClose);
        client.#registered = (id) => {
          client!.id = id;
          resolve();
        };
        client.#failed = (reason) =>
          reject(new SoakOpenError(`Cannot register: ${reason}`));
        timer = setTimeout(
          () => reject(new SoakOpenError("Cannot register: timed out")),
          timeoutMs,
        );
        client.#send(IDENTITY);
      });
    } catch (error) {
      client?.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return client!;
  }

  /** Receipted relays this client sent that have no receipt yet. */
  get pendingReceipts(): number {
    return this.#receipts.length - this.#receiptHead;
  }

  /** Sends relay `seq`, already encoded in `frame`. */
  relay(frame: Uint8Array, seq: number): void {
    this.#receipts.push(seq);
    this.#send(frame);
  }

  /** Closes the connection; the hub is not told anything else. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#out.length = 0;
    try {
      this.#conn.close();
    } catch {
      // The read loop closed it already.
    }
  }

  /** One writer per connection: frames queued meanwhile leave in one write. */
  #send(bytes: Uint8Array): void {
    if (this.#closing || this.#ended) return;
    this.#out.push(bytes);
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      while (this.#out.length > 0 && !this.#closing) {
        const chunk = this.#out.length === 1 ? this.#out[0]! : join(this.#out);
        this.#out = [];
        let offset = 0;
        while (offset < chunk.length) {
          offset += await this.#conn.write(chunk.subarray(offset));
        }
      }
    } catch {
      // The read loop sees the same failure and reports it.
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    let cause = "end of stream";
    let detail = "";
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#parser.parse(buf.subarray(0, n));
        if (this.#error !== null) break;
      }
    } catch (error) {
      cause = error instanceof ProtocolError ? "bad frame" : "reset";
      detail = (error as Error).message;
    }
    this.#ended = true;
    if (this.#closing) return;
    this.close();
    const close = this.#error ?? { cause, detail };
    if (this.id === 0) this.#failed(`${close.cause} ${close.detail}`.trim());
    else this.#onHubClose(this, close);
  }

  #onFrame = (kind: number, payload: Uint8Array): void => {
    switch (kind) {
      case Kind.Deliver: {
        const sender = readU32(payload, 0) * TWO_32 + readU32(payload, 4);
        this.#ledger.arrival(this, sender, payload.subarray(8));
        return;
      }
      case Kind.RelayReceipt: {
        const seq = this.#receipts[this.#receiptHead++];
        if (
          this.#receiptHead > 1024 &&
          this.#receiptHead * 2 > this.#receipts.length
        ) {
          this.#receipts = this.#receipts.slice(this.#receiptHead);
          this.#receiptHead = 0;
        }
        if (seq === undefined) this.#ledger.badReceipts++;
        else this.#ledger.receipt(seq, payload[0]!);
        return;
      }
      case Kind.Ping:
        this.#send(PONG);
        return;
      case Kind.IdentityReply:
        this.#registered(readU32(payload, 0) * TWO_32 + readU32(payload, 4));
        return;
      case Kind.Error:
        this.#error = {
          cause: `ERROR ${payload[0]}`,
          detail: new TextDecoder().decode(payload.subarray(1)),
        };
        return;
      default:
        this.#error = {
          cause: "bad frame",
          detail: `unexpected kind 0x${kind.toString(16)}`,
        };
    }
  };
}

function join(chunks: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
