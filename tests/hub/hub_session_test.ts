/**
 * The transport seam: sessions served over connections that are not
 * sockets, with a host assembled from the hub's own parts. This is the shape
 * a second transport (WebSocket) takes: it hands the hub something that
 * reads and writes bytes, and nothing else changes.
 */
import { assert, assertEquals } from "../_assert.ts";
import {
  ARENA_CHUNK,
  BufferPool,
  encodeFrame,
  encodeRelay,
  FrameParser,
  Kind,
  OutboundArena,
  REPLY_LIMITS,
} from "../../protocol/mod.ts";
import { CloseReason, HubCounters } from "../../hub/mod.ts";
import { Fanout } from "../../hub/_fanout.ts";
import { Registry } from "../../hub/registry.ts";
import { Session, type SessionHost } from "../../hub/_session.ts";
import type { SessionConn } from "../../hub/session_conn.ts";
import { deadline, type RawFrame, u64 } from "../_helpers.ts";

/** A connection in memory: the test feeds its input and reads its output. */
class MemoryConn implements SessionConn {
  readonly remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "memory",
    port: 0,
  };
  /** Everything the session wrote, in order. */
  written: Uint8Array[] = [];
  closed = false;
  #writeEnd = Promise.withResolvers<void>();
  /** Resolves once the session half-closed: its last bytes are out. */
  readonly writeEnded: Promise<void> = this.#writeEnd.promise;
  #input: Uint8Array[] = [];
  #ended = false;
  #reader: (() => void) | null = null;
  #writes: Array<() => void> = [];

  /** Bytes for the session to read. */
  feed(bytes: Uint8Array | string): void {
    this.#input.push(
      typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes,
    );
    this.#reader?.();
  }

  /** The end of the input, as a peer's FIN. */
  end(): void {
    this.#ended = true;
    this.#reader?.();
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#input.length === 0 && !this.#ended && !this.closed) {
      await new Promise<void>((resolve) => this.#reader = resolve);
      this.#reader = null;
    }
    const chunk = this.#input[0];
    if (chunk === undefined) return null;
    const n = Math.min(chunk.length, into.length);
    into.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#input.shift();
    else this.#input[0] = chunk.subarray(n);
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    this.written.push(bytes.slice());
    for (const wake of this.#writes.splice(0)) wake();
    return Promise.resolve(bytes.length);
  }

  closeWrite(): Promise<void> {
    this.#writeEnd.resolve();
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.#reader?.();
  }

  /** The frames written so far, once at least `count` have been. */
  async frames(count: number): Promise<RawFrame[]> {
    return await deadline(
      (async () => {
        while (true) {
          const frames: RawFrame[] = [];
          const parser = new FrameParser(REPLY_LIMITS, (kind, payload) => {
            frames.push({ kind, payload: payload.slice() });
          });
          for (const chunk of this.written) parser.parse(chunk);
          if (frames.length >= count) return frames;
          await new Promise<void>((resolve) => this.#writes.push(resolve));
        }
      })(),
      10_000,
      `${count} frames`,
    );
  }

  /** The text written so far, once it includes `until`. */
  async text(until: string): Promise<string> {
    return await deadline(
      (async () => {
        while (true) {
          const text = new TextDecoder().decode(concat(this.written));
          if (text.includes(until)) return text;
          await new Promise<void>((resolve) => this.#writes.push(resolve));
        }
      })(),
      10_000,
      `"${until}"`,
    );
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A host made of the hub's own parts, as the hub assembles it. */
function host(): SessionHost<Session> & { gone: Session[] } {
  const counters = new HubCounters();
  const pool = new BufferPool();
  const arena = new OutboundArena(ARENA_CHUNK, pool);
  const registry = new Registry<Session>();
  const fanout = new Fanout({ registry, arena, pool, counters });
  const gone: Session[] = [];
  return {
    config: {
      token: null,
      maxPending: 8 * 1024 * 1024,
      maxStall: 0,
      handshakeTimeout: 10_000,
      writeTimeout: 10_000,
      pingInterval: 60_000,
    },
    counters,
    pool,
    arena,
    fanout,
    registry,
    closed: (session) => gone.push(session),
    turn: () => Promise.resolve(),
    log: () => {},
    gone,
  };
}

Deno.test("session: binary and text clients over in-memory connections list and relay to each other", async () => {
  const hub = host();
  const a = new MemoryConn();
  const b = new MemoryConn();
  const c = new MemoryConn();
  const sessions = [
    new Session(hub, a, { id: 1, refused: false }),
    new Session(hub, b, { id: 2, refused: false }),
    new Session(hub, c, { id: 3, refused: false }),
  ];
  const running = sessions.map((session) => session.run());
  a.feed(encodeFrame(Kind.Identity));
  b.feed(encodeFrame(Kind.Identity));
  c.feed("identity\n");
  assertEquals(u64((await a.frames(1))[0]!.payload), 1n);
  assertEquals(u64((await b.frames(1))[0]!.payload), 2n);
  await c.text("identity 3\n");
  a.feed(encodeFrame(Kind.List));
  assertEquals((await a.frames(2))[1]!.payload.length, 16);
  // Relays between the transports, one frame at a time and split anyhow.
  const relay = encodeRelay([2n, 3n], new TextEncoder().encode("hi"));
  for (const byte of relay) a.feed(new Uint8Array([byte]));
  const delivered = (await b.frames(2))[1]!;
  assertEquals(delivered.kind, Kind.Deliver);
  assertEquals(u64(delivered.payload), 1n);
  assertEquals(new TextDecoder().decode(delivered.payload.subarray(8)), "hi");
  await c.text("message 1 2\nhi\n");
  c.feed("relay 2 from text\n");
  assert((await c.text("relayed 1\n")).endsWith("relayed 1\n"));
  const fromText = (await b.frames(3))[2]!;
  assertEquals(u64(fromText.payload), 3n);
  // A peer that ends its input is closed, unregistered and handed back.
  a.end();
  await running[0];
  assertEquals(hub.gone, [sessions[0]!]);
  assertEquals(sessions[0]!.closeReason, CloseReason.ClientClosed);
  assert(a.closed);
  assertEquals(hub.registry.listFor(2), [3]);
  c.feed("quit\n");
  // Quit half-closes after the replies; the peer's FIN then ends it.
  await deadline(c.writeEnded, 10_000, "the half-close");
  c.end();
  await running[2];
  assertEquals(sessions[2]!.closeReason, CloseReason.ClientQuit);
  sessions[1]!.abort(CloseReason.Shutdown);
  await Promise.all(running);
  assertEquals(hub.gone.length, 3);
  assertEquals(hub.registry.size, 0);
});
