/**
 * The client's WebSocket transport, against the hub's own WebSocket
 * listener. A recording proxy (tests/_ws_recorder.ts) sits in between where
 * a test checks how the client frames what it sends.
 */
import {
  type Client,
  connect,
  ConnectError,
  ConnectionClosedError,
  HubError,
  type Message,
} from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import { ErrorCode, MAX_BODY } from "../../protocol/mod.ts";
import { deadline, text } from "../_helpers.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  rejection,
} from "../_client_helpers.ts";
import { WsRecorder } from "../_ws_recorder.ts";

async function take(client: Client, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  await deadline(
    (async () => {
      for await (const message of client) {
        messages.push(message);
        if (messages.length === count) break;
      }
    })(),
    10_000,
    `${count} messages`,
  );
  return messages;
}

Deno.test("websocket: ids, list, echo, ping and receipts over the hub's WebSocket port", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using overWs = await connect(peer.url("/any/path?x=1"));
  await using overTcp = await connect(`msghub://127.0.0.1:${hub.addr.port}`);
  const wsId = await overWs.identity();
  const tcpId = await overTcp.identity();
  assertEquals(typeof wsId, "bigint");
  assertEquals(await overWs.list(), [tcpId]);
  assertEquals(await overTcp.list(), [wsId]);
  assertEquals(text(await overWs.echo("hello")), "hello");
  await overWs.ping();
  assertEquals(await overWs.relayWithReceipt([tcpId, 99n], "receipted"), {
    delivered: 1,
    unknown: [99n],
  });
  assertEquals((await take(overTcp, 1)).map((m) => [m.sender, text(m.body)]), [
    [wsId, "receipted"],
  ]);
  // Every client message went as a binary message.
  assert(peer.received.length > 0);
  assert(peer.received.every((m) => m.binary), "binary messages only");
});

Deno.test("websocket: relays both ways between a WebSocket and a TCP client, in order", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using ws = await connect(peer.url());
  await using tcp = await connect({ port: hub.addr.port });
  const wsId = await ws.identity();
  const tcpId = await tcp.identity();
  const binary = new Uint8Array(256).map((_, i) => i);
  for (let i = 0; i < 200; i++) await tcp.relay([wsId], `to ws ${i}`);
  await tcp.relay([wsId], binary);
  for (let i = 0; i < 200; i++) await ws.relay([tcpId], `to tcp ${i}`);
  await ws.relay([tcpId], binary);
  const atWs = await take(ws, 201);
  const atTcp = await take(tcp, 201);
  for (let i = 0; i < 200; i++) {
    assertEquals(atWs[i]?.sender, tcpId);
    assertEquals(text(atWs[i]!.body), `to ws ${i}`);
    assertEquals(atTcp[i]?.sender, wsId);
    assertEquals(text(atTcp[i]!.body), `to tcp ${i}`);
  }
  assertEquals(atWs[200]?.body, binary);
  assertEquals(atTcp[200]?.body, binary);
});

Deno.test("websocket: 1 MiB bodies cross intact; no client message is over 1 MiB", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using ws = await connect(peer.url());
  await using tcp = await connect({ port: hub.addr.port });
  const full = new Uint8Array(MAX_BODY).map((_, i) => (i * 31) & 0xff);
  assertEquals(await ws.echo(full), full);
  const many = Array.from({ length: 255 }, () => 1_000_000n);
  many[0] = await tcp.identity();
  // The largest frame there is: 255 receivers and a 1 MiB body.
  assertEquals(await ws.relayWithReceipt(many, full), {
    delivered: 1,
    unknown: [1_000_000n],
  });
  assertEquals((await take(tcp, 1))[0]?.body, full);
  await tcp.relay([await ws.identity()], full);
  assertEquals((await take(ws, 1))[0]?.body, full);
  const largest = Math.max(...peer.received.map((m) => m.size));
  assert(largest <= MAX_BODY, `largest client message ${largest}`);
  assert(largest > 64 * 1024, "large frames are not cut small");
});

Deno.test("websocket: pipelined calls resolve in request order", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using client = await connect(peer.url());
  const id = await client.identity();
  const calls: Promise<unknown>[] = [];
  const expected: unknown[] = [];
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 0) {
      calls.push(client.echo(`#${i}`).then(text));
      expected.push(`#${i}`);
    } else if (i % 3 === 1) {
      calls.push(client.identity());
      expected.push(id);
    } else {
      calls.push(client.ping());
      expected.push(undefined);
    }
  }
  assertEquals(await Promise.all(calls), expected);
});

Deno.test("websocket: a wrong token is HubError 7; the right one works", async () => {
  await using hub = await serve({ port: 0, wsPort: 0, token: "s3cret" });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using good = await connect(peer.url(), { token: "s3cret" });
  assert((await good.identity()) > 0n);
  const wrong = await rejection(connect(peer.url(), { token: "guess" }));
  assertInstanceOf(wrong, HubError);
  assertEquals(wrong.code, ErrorCode.Unauthorized);
});

Deno.test("websocket: calls made before close get their replies; later ones reject", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using receiver = await connect({ port: hub.addr.port });
  const to = await receiver.identity();
  const client = await connect(peer.url());
  for (let i = 0; i < 20; i++) await client.relay([to], `last ${i}`);
  const echo = client.echo("in flight");
  const closing = client.close();
  assertEquals(text(await echo), "in flight");
  await closing;
  await client.closed;
  assertEquals(text((await take(receiver, 20))[19]!.body), "last 19");
  await assertRejects(() => client.identity(), ConnectionClosedError);
});

Deno.test("websocket: hub shutdown reaches a WebSocket client as HubError 6", async () => {
  const hub = await serve({ port: 0, wsPort: 0 });
  try {
    await using peer = new WsRecorder(hub.wsAddr!.port);
    await using client = await connect(peer.url());
    await client.identity();
    await hub.shutdown();
    await deadline(client.closed, 10_000, "the client to close");
    const error = await rejection(
      (async () => {
        for await (const _ of client) {
          // Nothing was relayed.
        }
      })(),
    );
    assertInstanceOf(error, HubError);
    assertEquals(error.code, ErrorCode.ShuttingDown);
  } finally {
    await hub.shutdown();
  }
});

Deno.test("websocket: a refused connection or upgrade is a ConnectError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await rejection(connect(`ws://127.0.0.1:${port}/`));
  assertInstanceOf(refused, ConnectError);
  assertEquals(refused.port, port);
  assertStringIncludes(refused.message, `Cannot connect to 127.0.0.1:${port}:`);
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("go away", { status: 403 }),
  );
  const forbidden = await rejection(
    connect(`ws://127.0.0.1:${server.addr.port}/`),
  );
  assertInstanceOf(forbidden, ConnectError);
  assertStringIncludes(forbidden.message, "403");
});
