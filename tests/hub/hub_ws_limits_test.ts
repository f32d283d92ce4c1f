/**
 * The hub's WebSocket listener at its edges: refused upgrades, RFC 6455
 * violations and their close codes, limits, authentication, timeouts, slow
 * consumers, shutdown, metrics by transport and `wss://`.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { serve } from "../../hub/mod.ts";
import { CloseReason } from "../../hub/close_reason.ts";
import {
  encodeAuth,
  encodeFrame,
  encodeRelay,
  encodeWsFrame,
  encodeWsPing,
  ErrorCode,
  Kind,
  MAX_BODY,
  MAX_WS_MESSAGE,
  WsOpcode,
} from "../../protocol/mod.ts";
import { deadline, LogRecorder, RawClient, text } from "../_helpers.ts";
import { WsClient } from "../_ws_client.ts";
import { makeCerts } from "../_tls.ts";

const encoder = new TextEncoder();
const MASK = new Uint8Array([1, 2, 3, 4]);

function head(lines: string[]): Uint8Array {
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n");
}

const GOOD = [
  "Host: hub",
  "Upgrade: websocket",
  "Connection: Upgrade",
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version: 13",
];

Deno.test("ws: malformed upgrades get their HTTP refusal and no upgrade", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  const port = hub.wsAddr!.port;
  const cases: Array<[Uint8Array, number]> = [
    [head(["POST / HTTP/1.1", ...GOOD]), 405],
    [
      head(["GET / HTTP/1.1", ...GOOD.filter((h) => !h.startsWith("Upgrade"))]),
      400,
    ],
    [
      head([
        "GET / HTTP/1.1",
        ...GOOD.slice(0, 3),
        "Sec-WebSocket-Key: short",
        GOOD[4]!,
      ]),
      400,
    ],
    [
      head(["GET / HTTP/1.1", ...GOOD.slice(0, 4), "Sec-WebSocket-Version: 8"]),
      426,
    ],
    [head(["GET / HTTP/1.1", ...GOOD, `X-Pad: ${"a".repeat(9000)}`]), 431],
    [encodeFrame(Kind.Identity), 400],
  ];
  for (const [bytes, status] of cases) {
    const { client, answer } = await WsClient.connect(port, { head: bytes });
    await using _ = client;
    assertEquals(answer.status, status, answer.body);
    assertMatch(answer.head, /Connection: close\r\n/);
  }
  // The hub serves on: a good upgrade still works.
  await using ok = await WsClient.open(port);
  await ok.text("identity\n");
  assertMatch(await ok.line(), /^identity \d+\n$/);
});

Deno.test("ws: --ws-origin refuses other origins with 403, accepts listed ones and no Origin", async () => {
  await using hub = await serve({
    port: 0,
    wsPort: 0,
    wsOrigins: ["https://Chat.Example.com", "http://localhost:8080"],
  });
  const port = hub.wsAddr!.port;
  const { client, answer } = await WsClient.connect(port, {
    origin: "https://evil.example.com",
  });
  await using _ = client;
  assertEquals(answer.status, 403);
  assertMatch(answer.body, /origin "https:\/\/evil\.example\.com"/);
  for (
    const origin of [
      "https://chat.example.com",
      "http://LOCALHOST:8080",
      undefined,
    ]
  ) {
    await using ok = await WsClient.open(
      port,
      origin === undefined ? {} : { origin },
    );
    await ok.text("list\n");
    assertMatch(await ok.line(), /^list/);
  }
});

Deno.test("ws: a hub at its client limit answers the upgrade with 503", async () => {
  await using hub = await serve({ port: 0, wsPort: 0, maxClients: 1 });
  await using first = await WsClient.open(hub.wsAddr!.port);
  await first.text("identity\n");
  await first.line();
  const { client, answer } = await WsClient.connect(hub.wsAddr!.port);
  await using _ = client;
  assertEquals(answer.status, 503);
  assertEquals(hub.stats.registered, 1);
});

Deno.test("ws: RFC 6455 violations close with their code and no ERROR frame", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  const port = hub.wsAddr!.port;
  const cases: Array<[string, Uint8Array, number]> = [
    ["unmasked", encodeWsFrame(WsOpcode.Binary, encodeFrame(Kind.Ping)), 1002],
    ["bad opcode", new Uint8Array([0x83, 0x80, 1, 2, 3, 4]), 1002],
    [
      "invalid UTF-8",
      encodeWsFrame(WsOpcode.Text, new Uint8Array([0x6c, 0xff]), {
        mask: MASK,
      }),
      1007,
    ],
    // Only the header is sent: the hub refuses on it, buffering nothing.
    // A header announcing 2 MiB, and no payload: refused on the header.
    [
      "oversized",
      new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0, 0x20, 0, 0, 1, 2, 3, 4]),
      1009,
    ],
  ];
  for (const [what, bytes, code] of cases) {
    await using ws = await WsClient.open(port);
    if (what !== "invalid UTF-8") {
      // Registered first, in the binary dialect.
      await ws.frame(Kind.Identity);
      await ws.frames();
    }
    await ws.write(bytes);
    assertEquals(await ws.closed(), code, what);
    assertEquals(ws.messages.length, what === "invalid UTF-8" ? 0 : 1, what);
  }
});

Deno.test("ws: a message over the limit across fragments closes with 1009", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using ws = await WsClient.open(hub.wsAddr!.port);
  // The start of an ECHO of 1 MiB: a valid stream, in too large a message.
  const piece = new Uint8Array(MAX_WS_MESSAGE / 2);
  piece.set(encodeFrame(Kind.Echo, new Uint8Array(0)));
  new DataView(piece.buffer).setUint32(1, MAX_BODY);
  await ws.send(WsOpcode.Binary, piece, false);
  await ws.send(WsOpcode.Continuation, piece.subarray(0, 1000), false);
  await ws.write(
    encodeWsFrame(WsOpcode.Continuation, new Uint8Array(MAX_WS_MESSAGE / 2), {
      mask: MASK,
    }).subarray(0, 14),
  );
  assertEquals(await ws.closed(), 1009);
});

Deno.test("ws: pings get pongs; a flood of tiny frames is served in bounded memory", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using ws = await WsClient.open(hub.wsAddr!.port);
  await ws.write(encodeWsPing(encoder.encode("p1"), { mask: MASK }));
  await ws.until(() => ws.pongs.length === 1, "a pong");
  assertEquals(text(ws.pongs[0]!), "p1");
  // "identity\n", one byte per fragment, between empty frames and pings.
  const parts: number[] = [];
  const line = encoder.encode("identity\n");
  const ping = encodeWsPing(new Uint8Array(0), { mask: MASK });
  for (let round = 0; round < 2000; round++) {
    // An empty frame opens the message, each byte continues it.
    parts.push(
      ...encodeWsFrame(WsOpcode.Text, new Uint8Array(0), {
        fin: false,
        mask: MASK,
      }),
    );
    for (let i = 0; i < line.length; i++) {
      const fin = i === line.length - 1;
      parts.push(
        ...encodeWsFrame(WsOpcode.Continuation, line.subarray(i, i + 1), {
          fin,
          mask: MASK,
        }),
      );
      if (i === 3) parts.push(...ping);
    }
  }
  await ws.write(new Uint8Array(parts));
  const lines = await ws.next(2000);
  assert(lines.every((m) => text(m.bytes) === "identity 1\n"));
  assertEquals(hub.stats.connections, 1);
});

Deno.test("ws: a wrong token closes with ERROR 7 and 1008; the right one registers", async () => {
  await using hub = await serve({ port: 0, wsPort: 0, token: "s3cret" });
  await using bad = await WsClient.open(hub.wsAddr!.port);
  await bad.frame(Kind.Auth, encoder.encode("guess"));
  const [error] = await bad.frames();
  assertEquals([error!.kind, error!.payload[0]], [
    Kind.Error,
    ErrorCode.Unauthorized,
  ]);
  assertEquals(await bad.closed(), 1008);
  await using good = await WsClient.open(hub.wsAddr!.port);
  await good.text("auth s3cret\n");
  assertEquals(await good.line(), "auth ok\n");
  assertEquals(hub.stats.registered, 1);
  await using early = await WsClient.open(hub.wsAddr!.port);
  await early.text("list\n");
  assertEquals(await early.line(), "error unauthorized\n");
  assertEquals(await early.closed(), 1008);
});

Deno.test("ws: no data message within the handshake timeout closes without a reply", async () => {
  const logs = new LogRecorder();
  await using hub = await serve({
    port: 0,
    wsPort: 0,
    handshakeTimeout: 100,
    logger: logs.logger,
  });
  await using silent = await WsClient.open(hub.wsAddr!.port);
  // Pings are activity, but not a data message: they do not register.
  await silent.write(encodeWsPing(new Uint8Array(0), { mask: MASK }));
  assertEquals(await silent.closed(), null);
  assertEquals(silent.messages.length, 0);
  await logs.next("close", { reason: CloseReason.HandshakeTimeout });
  // An upgrade that never comes is timed out too.
  await using raw = await RawClient.connect(hub.wsAddr!.port);
  assert(await raw.closedByPeer());
});

Deno.test("ws: a silent binary client is pinged, then closed with ERROR 5 and 1008", async () => {
  await using hub = await serve({ port: 0, wsPort: 0, pingInterval: 30 });
  await using ws = await WsClient.open(hub.wsAddr!.port);
  await ws.frame(Kind.Identity);
  await ws.frames();
  assertEquals((await ws.frames())[0]!.kind, Kind.Ping);
  assertEquals((await ws.frames())[0]!.kind, Kind.Ping);
  const [error] = await ws.frames();
  assertEquals([error!.kind, error!.payload[0]], [
    Kind.Error,
    ErrorCode.Timeout,
  ]);
  assertEquals(await ws.closed(), 1008);
});

Deno.test("ws: a WebSocket receiver that does not read is dropped as a slow consumer", async () => {
  await using hub = await serve({
    port: 0,
    wsPort: 0,
    maxPending: 1_100_000,
    writeTimeout: 60_000,
  });
  // Upgraded, but nothing it is sent is ever read.
  await using ws = await WsClient.open(hub.wsAddr!.port, { read: false });
  await ws.text("identity\n");
  await using tcp = await RawClient.connect(hub.addr.port);
  const relay = encodeRelay([1n], new Uint8Array(60_000), true);
  let delivered = 1;
  for (let i = 0; i < 2000 && delivered === 1; i++) {
    await tcp.send(relay);
    const receipt = await tcp.frame();
    assertEquals(receipt.kind, Kind.RelayReceipt);
    delivered = receipt.payload[0]!;
  }
  assertEquals(delivered, 0, "the receiver was dropped");
  assertEquals(hub.metrics().counters.slowConsumers, 1);
  assertEquals(hub.stats.registered, 1);
});

Deno.test("ws: shutdown sends ERROR 6 then close 1001; a silent upgraded client gets 1001", async () => {
  const hub = await serve({ port: 0, wsPort: 0 });
  await using binary = await WsClient.open(hub.wsAddr!.port);
  await binary.frame(Kind.Identity);
  await binary.frames();
  await using textual = await WsClient.open(hub.wsAddr!.port);
  await textual.text("identity\n");
  await textual.line();
  await using silent = await WsClient.open(hub.wsAddr!.port);
  await hub.shutdown();
  const [error] = await binary.frames();
  assertEquals([error!.kind, error!.payload[0]], [
    Kind.Error,
    ErrorCode.ShuttingDown,
  ]);
  assertEquals(await binary.closed(), 1001);
  assertEquals(await textual.line(), "error hub shutting down\n");
  assertEquals(await textual.closed(), 1001);
  assertEquals(await silent.closed(), 1001);
});

Deno.test("ws: metrics count connections by transport", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using ws = await WsClient.open(hub.wsAddr!.port);
  await ws.text("identity\n");
  await ws.line();
  await using tcp = await RawClient.connect(hub.addr.port);
  await tcp.send("identity\n");
  await tcp.line();
  const metrics = hub.metrics();
  assertEquals(metrics.connections, 2);
  assertEquals(metrics.transports, { tcp: 1, ws: 1 });
  assertEquals([metrics.counters.accepted, metrics.counters.acceptedWs], [
    2,
    1,
  ]);
});

Deno.test("ws: wss:// with the hub's TLS certificate", async () => {
  await using certs = await makeCerts();
  await using hub = await serve({
    port: 0,
    wsPort: 0,
    tls: { cert: certs.cert, key: certs.key },
  });
  await using ws = await WsClient.open(hub.wsAddr!.port, { tls: certs.ca });
  await ws.frame(Kind.Identity);
  assertEquals((await ws.frames())[0]!.kind, Kind.IdentityReply);
  await ws.send(WsOpcode.Binary, encodeAuth(encoder.encode("t")));
  assertEquals((await ws.frames())[0]!.kind, Kind.AuthOk);
  await ws.close();
  assertEquals(await deadline(ws.closed()), 1000);
});
