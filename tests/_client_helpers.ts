/**
 * Helpers of the client tests: the typed assertions, and a fake hub that
 * scripts what a client sees.
 */
import {
  encodeIdentityReply,
  FrameParser,
  Kind,
  REQUEST_LIMITS,
} from "../protocol/mod.ts";
import { deadline, type RawFrame } from "./_helpers.ts";

export {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { assertEquals } from "./_assert.ts";

/** Settles to the rejection of `promise`, failing if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("Expected a rejection");
}

/** One connection accepted by a {@linkcode FakeHub}: it reads client frames. */
export class FakePeer implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  #frames: RawFrame[] = [];
  #parser = new FrameParser(REQUEST_LIMITS, (kind, payload) => {
    this.#frames.push({ kind, payload: payload.slice() });
  });
  #buffer = new Uint8Array(64 * 1024);
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Writes every byte. */
  async send(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    while (rest.length > 0) rest = rest.subarray(await this.conn.write(rest));
  }

  /** The next frame the client sent. */
  frame(ms = 10_000): Promise<RawFrame> {
    return deadline(
      (async () => {
        while (this.#frames.length === 0) {
          const n = await this.conn.read(this.#buffer);
          if (n === null) throw new Error("Client hung up before a frame");
          this.#parser.parse(this.#buffer.subarray(0, n));
        }
        return this.#frames.shift()!;
      })(),
      ms,
      "a client frame",
    );
  }

  /** Resolves once the client has shut its side (EOF or reset). */
  hungUp(ms = 10_000): Promise<void> {
    return deadline(
      (async () => {
        try {
          while ((await this.conn.read(this.#buffer)) !== null) {
            // Discard what still arrives.
          }
        } catch {
          // A reset is a hang-up too.
        }
      })(),
      ms,
      "the client to hang up",
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * A TCP listener on a free port that plays the hub by hand, for what a real
 * hub will not do on request: ERROR frames, PINGs, malformed or cut frames.
 */
export class FakeHub implements AsyncDisposable {
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Accepts one connection. */
  async accept(): Promise<FakePeer> {
    const conn = await deadline(this.#listener.accept(), 10_000, "a client");
    return new FakePeer(conn);
  }

  /** Accepts a client from `connect()` and answers its IDENTITY with `id`. */
  async acceptIdentified(id = 1n): Promise<FakePeer> {
    const peer = await this.accept();
    const frame = await peer.frame();
    assertEquals(frame.kind, Kind.Identity);
    await peer.send(encodeIdentityReply(id));
    return peer;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    return Promise.resolve();
  }
}
