/**
 * The bench's WebSocket wire against a WebSocket server made of our own
 * codec, over real loopback sockets: the upgrade, masked writes split into
 * messages of at most 1 MiB + 64 KiB, reads of several frames per chunk and
 * of frames split across chunks, pings, the server's close, and refusals.
 */
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { deadline } from "../_helpers.ts";
import {
  encodeWsAccept,
  encodeWsClose,
  encodeWsFrame,
  encodeWsPing,
  MAX_WS_MESSAGE,
  WsCloseCode,
  WsFrameParser,
  WsHandshakeParser,
  WsOpcode,
} from "../../protocol/mod.ts";
import { writeAll } from "../../bench/wire.ts";
import { copyMasked, dialWs } from "../../bench/ws_wire.ts";
import type { Wire } from "../../bench/wire.ts";

/** What the server side of a test connection read from the client. */
interface Received {
  /** Binary message payloads, each whole. */
  messages: Uint8Array[];
  /** Pong payloads. */
  pongs: Uint8Array[];
  /** Close codes. */
  closes: number[];
}

/**
 * Accepts one connection, answers its upgrade with `answer(key)` and then
 * `after`, and reads masked frames (the server-role parser refuses unmasked
 * ones) until EOF.
 */
async function serveOnce(
  listener: Deno.Listener,
  answer: (key: string) => Uint8Array,
  after: Uint8Array = new Uint8Array(0),
): Promise<{ conn: Deno.Conn; received: Promise<Received> }> {
  const conn = await listener.accept();
  const handshake = new WsHandshakeParser();
  const buf = new Uint8Array(64 * 1024);
  let result = null;
  while (result === null) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("Client closed during the upgrade");
    result = handshake.parse(buf.subarray(0, n));
  }
  if (!result.ok) throw new Error(`Refused: ${result.message}`);
  const head = answer(result.request.key);
  const first = new Uint8Array(head.length + after.length);
  first.set(head);
  first.set(after, head.length);
  await writeAll(conn, first);
  const received: Received = { messages: [], pongs: [], closes: [] };
  let parts: Uint8Array[] = [];
  const parser = new WsFrameParser({
    onData: (payload) => parts.push(payload.slice()),
    onEnd: () => {
      const length = parts.reduce((sum, part) => sum + part.length, 0);
      const message = new Uint8Array(length);
      let at = 0;
      for (const part of parts) {
        message.set(part, at);
        at += part.length;
      }
      received.messages.push(message);
      parts = [];
    },
    onPing: () => {},
    onPong: (payload) => received.pongs.push(payload.slice()),
    onClose: (code) => received.closes.push(code),
  });
  const reading = (async () => {
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        parser.parse(buf.subarray(0, n));
      }
    } catch {
      // Closed by the test.
    }
    return received;
  })();
  return { conn, received: reading };
}

/** Reads `wire` until `done`, collecting its stream bytes. */
async function readStream(
  wire: Wire,
  done: (bytes: number[]) => boolean,
): Promise<{ bytes: number[]; open: boolean }> {
  const bytes: number[] = [];
  const buf = new Uint8Array(4096);
  const sink = (piece: Uint8Array) => bytes.push(...piece);
  while (!done(bytes)) {
    const n = await wire.read(buf);
    if (n === null) return { bytes, open: false };
    if (!wire.unwrap(buf.subarray(0, n), sink)) return { bytes, open: false };
  }
  return { bytes, open: true };
}

function listen(): Deno.TcpListener {
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

async function dial(listener: Deno.TcpListener): Promise<Deno.TcpConn> {
  return await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
}

Deno.test("copyMasked XORs with the key at every alignment and length", () => {
  const key = new Uint8Array([0x11, 0x22, 0x33, 0x44]);
  const backing = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  for (const srcOffset of [0, 1, 2, 3, 4]) {
    for (const at of [0, 1, 2, 3, 4]) {
      for (const length of [0, 1, 5, 63, 64, 65, 200]) {
        const src = backing.subarray(srcOffset, srcOffset + length);
        const dst = new Uint8Array(length + 8).fill(0xee);
        copyMasked(src, dst, at, key);
        for (let i = 0; i < length; i++) {
          assertEquals(dst[at + i], src[i]! ^ key[i & 3]!, `byte ${i}`);
        }
        assertEquals(dst[at + length], 0xee, "nothing written past the end");
        if (at > 0) assertEquals(dst[at - 1], 0xee);
      }
    }
  }
});

Deno.test("ws wire: masked writes, one message per 1 MiB + 64 KiB of stream", async () => {
  using listener = listen();
  const dialing = dial(listener).then((conn) => dialWs(conn, "bench.test"));
  const server = await serveOnce(listener, encodeWsAccept);
  const wire = await dialing;
  assertEquals(wire.transport, "ws");
  const big = new Uint8Array(2 * MAX_WS_MESSAGE + 1000).map((_, i) => i % 251);
  const small = new Uint8Array([1, 2, 3]);
  // Queued together: the second must not start before the first is out.
  await Promise.all([wire.write(big), wire.write(small)]);
  wire.close();
  const received = await deadline(server.received);
  server.conn.close();
  assertEquals(
    received.messages.map((m) => m.length),
    [MAX_WS_MESSAGE, MAX_WS_MESSAGE, 1000, 3],
  );
  const joined = new Uint8Array(big.length);
  let at = 0;
  for (const message of received.messages.slice(0, 3)) {
    joined.set(message, at);
    at += message.length;
  }
  assertEquals(joined, big, "the stream arrives unmasked, in order");
  assertEquals(received.messages[3], small);
});

Deno.test("ws wire: frames that came with the upgrade answer, split frames, pings and the server's close", async () => {
  using listener = listen();
  const dialing = dial(listener).then((conn) => dialWs(conn, "bench.test"));
  const early = encodeWsFrame(WsOpcode.Binary, new Uint8Array([1, 2]));
  const server = await serveOnce(listener, encodeWsAccept, early);
  const wire = await dialing;
  // Several frames in one write, one of them split across two writes.
  const tail = encodeWsFrame(WsOpcode.Binary, new Uint8Array(300).fill(9));
  const burst = new Uint8Array([
    ...encodeWsFrame(WsOpcode.Binary, new Uint8Array([3]), { fin: false }),
    ...encodeWsFrame(WsOpcode.Continuation, new Uint8Array([4, 5])),
    ...encodeWsPing(new Uint8Array([7, 7])),
    ...tail.subarray(0, 3),
  ]);
  await writeAll(server.conn, burst);
  const first = await deadline(readStream(wire, (b) => b.length >= 5));
  assertEquals(first.bytes, [1, 2, 3, 4, 5]);
  await writeAll(server.conn, tail.subarray(3));
  const second = await deadline(readStream(wire, (b) => b.length >= 300));
  assert(second.bytes.every((b) => b === 9));
  await writeAll(server.conn, encodeWsClose(WsCloseCode.Normal));
  const last = await deadline(readStream(wire, () => false));
  assertEquals(last.open, false, "the server's close ends the stream");
  wire.close();
  const received = await deadline(server.received);
  server.conn.close();
  assertEquals(received.pongs, [new Uint8Array([7, 7])]);
  assertEquals(received.closes, [WsCloseCode.Normal]);
});

Deno.test("ws wire: a refused upgrade and a wrong accept key fail the dial", async () => {
  using listener = listen();
  const encoder = new TextEncoder();
  const refusal = encoder.encode(
    "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  );
  const refused = dial(listener).then((conn) => dialWs(conn, "bench.test"));
  const a = await serveOnce(listener, () => refusal);
  await assertRejects(() => refused, Error, '"HTTP/1.1 403 Forbidden"');
  a.conn.close();
  await a.received;

  const wrong = dial(listener).then((conn) => dialWs(conn, "bench.test"));
  const b = await serveOnce(
    listener,
    () => encodeWsAccept("dGhlIHNhbXBsZSBub25jZQ=="),
  );
  await assertRejects(() => wrong, Error, "Sec-WebSocket-Accept");
  b.conn.close();
  await b.received;
});
