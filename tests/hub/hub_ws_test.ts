/**
 * The hub's WebSocket listener, driven by a raw client (tests/_ws_client.ts):
 * every text and binary command, relays with TCP clients both ways, and how
 * messages are framed.
 */
import { assert, assertEquals } from "@std/assert";
import { serve } from "../../hub/mod.ts";
import {
  encodeAuth,
  encodeEcho,
  encodeFrame,
  encodeRelay,
  Kind,
  WsOpcode,
} from "../../protocol/mod.ts";
import { RawClient, text, u64 } from "../_helpers.ts";
import { WsClient } from "../_ws_client.ts";
import { HubProcess } from "../_cli.ts";

const encoder = new TextEncoder();

Deno.test("ws: every text command, on a WebSocket at any path", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using tcp = await RawClient.connect(hub.addr.port);
  await tcp.send("identity\n");
  assertEquals(await tcp.line(), "identity 1");
  await using ws = await WsClient.open(hub.wsAddr!.port);
  await ws.text("identity\n");
  assertEquals(await ws.line(), "identity 2\n");
  await ws.text("list\n");
  assertEquals(await ws.line(), "list 1\n");
  await ws.text("echo hello world\n");
  assertEquals(await ws.line(), "echo hello world\n");
  await ws.text("auth anything\n");
  assertEquals(await ws.line(), "auth ok\n");
  await ws.text("help\n");
  assert((await ws.line()).startsWith("commands"));
  await ws.text("bogus\n");
  assert((await ws.line()).startsWith("error unknown command"));
  await ws.text("relay 1,9 foo bar\n");
  assertEquals(await ws.line(), "relayed 1 unknown 9\n");
  assertEquals(await tcp.line(), "message 2 7");
  assertEquals(await tcp.line(), "foo bar");
  // A block relay, its lines split across messages and messages holding several.
  await ws.text("rel");
  await ws.text("ay\n1\nfirst");
  await ws.text(" line\nsecond\n\nidentity\n");
  assertEquals(await ws.line(), "relayed 1\n");
  assertEquals(await ws.line(), "identity 2\n");
  assertEquals(await tcp.line(), "message 2 17");
  assertEquals(await tcp.line(), "first line");
  assertEquals(await tcp.line(), "second");
  await tcp.send("relay 2 from tcp\n");
  assertEquals(await tcp.line(), "relayed 1");
  assertEquals(await ws.line(), "message 1 8\nfrom tcp\n");
  await ws.text("quit\n");
  assertEquals(await ws.closed(), 1000);
});

Deno.test("ws: every binary command; frames split across messages and several in one", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using ws = await WsClient.open(hub.wsAddr!.port);
  await using tcp = await RawClient.connect(hub.addr.port);
  await tcp.send(encodeFrame(Kind.Identity));
  const tcpId = u64((await tcp.frame()).payload);
  await ws.frame(Kind.Identity);
  let [reply] = await ws.frames();
  assertEquals(reply!.kind, Kind.IdentityReply);
  const wsId = u64(reply!.payload);
  await ws.frame(Kind.List);
  [reply] = await ws.frames();
  assertEquals([reply!.kind, u64(reply!.payload)], [Kind.ListReply, tcpId]);
  await ws.send(WsOpcode.Binary, encodeEcho(encoder.encode("hi")));
  [reply] = await ws.frames();
  assertEquals([reply!.kind, text(reply!.payload)], [Kind.EchoReply, "hi"]);
  await ws.frame(Kind.Ping);
  assertEquals((await ws.frames())[0]!.kind, Kind.Pong);
  await ws.frame(Kind.Pong);
  await ws.send(WsOpcode.Binary, encodeAuth(encoder.encode("x")));
  assertEquals((await ws.frames())[0]!.kind, Kind.AuthOk);
  // A receipted relay cut in three messages, the last fragmented.
  const relay = encodeRelay([tcpId, 77n], encoder.encode("to tcp"), true);
  await ws.send(WsOpcode.Binary, relay.subarray(0, 3));
  await ws.send(WsOpcode.Binary, relay.subarray(3, 12));
  await ws.send(WsOpcode.Binary, relay.subarray(12, 14), false);
  await ws.send(WsOpcode.Continuation, relay.subarray(14));
  [reply] = await ws.frames();
  assertEquals(reply!.kind, Kind.RelayReceipt);
  assertEquals([...reply!.payload.subarray(0, 2)], [1, 1]);
  const deliver = await tcp.frame();
  assertEquals(deliver.kind, Kind.Deliver);
  assertEquals(u64(deliver.payload), wsId);
  assertEquals(text(deliver.payload.subarray(8)), "to tcp");
  // Three requests in one message: three replies, in order.
  const three = new Uint8Array([
    ...encodeFrame(Kind.Ping),
    ...encodeEcho(encoder.encode("two")),
    ...encodeFrame(Kind.Identity),
  ]);
  await ws.send(WsOpcode.Binary, three);
  const replies: number[] = [];
  while (replies.length < 3) {
    for (const frame of await ws.frames()) replies.push(frame.kind);
  }
  assertEquals(replies, [Kind.Pong, Kind.EchoReply, Kind.IdentityReply]);
  // TCP to WebSocket: each message holds whole frames.
  for (let i = 0; i < 50; i++) {
    await tcp.send(encodeRelay([wsId], encoder.encode(`n${i}`)));
  }
  const got: string[] = [];
  while (got.length < 50) {
    for (const frame of await ws.frames()) {
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(u64(frame.payload), tcpId);
      got.push(text(frame.payload.subarray(8)));
    }
  }
  assertEquals(got, Array.from({ length: 50 }, (_, i) => `n${i}`));
  await ws.close();
  assertEquals(await ws.closed(), 1000);
});

Deno.test("ws: a body that is not UTF-8 reaches a text client alone in a binary message", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using ws = await WsClient.open(hub.wsAddr!.port);
  await using tcp = await RawClient.connect(hub.addr.port);
  await ws.text("identity\n");
  assertEquals(await ws.line(), "identity 1\n");
  await tcp.send(encodeRelay([1n], new Uint8Array([0xff, 0x00, 0xc0])));
  await tcp.send(encodeRelay([1n], encoder.encode("ok")));
  const [odd, ok] = await ws.next(2);
  assertEquals(odd!.text, false);
  assertEquals(
    [...odd!.bytes],
    [...encoder.encode("message 2 3\n"), 0xff, 0x00, 0xc0, 0x0a],
  );
  assertEquals(ok!.text, true);
  assertEquals(new TextDecoder().decode(ok!.bytes), "message 2 2\nok\n");
  // A text client may relay bytes that are not UTF-8 in a binary message.
  await ws.send(
    WsOpcode.Binary,
    new Uint8Array([...encoder.encode("echo "), 0xfe, 0x0a]),
  );
  const [echo] = await ws.next();
  assertEquals(echo!.text, false);
  assertEquals([...echo!.bytes], [...encoder.encode("echo "), 0xfe, 0x0a]);
});

Deno.test("ws: msghub hub --ws-port 0 names the WebSocket address in its listening line", async () => {
  await using hub = await HubProcess.start(["--ws-port", "0"]);
  const match =
    /^msghub hub listening on 127\.0\.0\.1:(\d+) ws=127\.0\.0\.1:(\d+)$/
      .exec(hub.first);
  assert(match !== null, hub.first);
  await using ws = await WsClient.open(Number(match![2]));
  await ws.text("identity\n");
  assertEquals(await ws.line(), "identity 1\n");
  await using tcp = await RawClient.connect(Number(match![1]));
  await tcp.send("list\n");
  assertEquals(await tcp.line(), "list 1");
});
