/**
 * `msghub client --url ws://…`: every one-shot command, and a piped
 * session, over WebSocket: the CLI talks to the hub's own WebSocket port,
 * through the transparent recording proxy of `../_ws_recorder.ts` where a
 * test checks what the client sent; clients on TCP share that hub.
 */
import { connect } from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import { text } from "../_helpers.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { WsRecorder } from "../_ws_recorder.ts";
import { nextMessage, run, Running } from "./_client_helpers.ts";

function json(bytes: Uint8Array): unknown {
  const lines = text(bytes).split("\n");
  assertEquals(lines.length, 2, "one line");
  return JSON.parse(lines[0]!);
}

Deno.test("every one-shot command works with --url ws://", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using tcp = await connect({ port: hub.addr.port });
  const tcpId = await tcp.identity();
  const inbox = tcp.messages();
  const at = ["--url", peer.url("/msghub")];

  const identity = await run([...at, "identity"]);
  assertEquals([identity.code, identity.stderr], [0, ""]);
  assert(BigInt(text(identity.stdout).trim()) > tcpId, text(identity.stdout));
  const identityJson = await run([...at, "identity", "--json"]);
  assertMatch(text(identityJson.stdout), /^\{"id":"\d+"\}\n$/);

  const list = await run([...at, "list", "--json"]);
  assertEquals([list.code, json(list.stdout)], [0, [`${tcpId}`]]);
  const echo = await run([...at, "echo", "--json", "over", "ws"]);
  assertEquals([echo.code, json(echo.stdout)], [0, {
    body: "over ws",
    encoding: "utf8",
  }]);

  const relay = await run([...at, "relay", "--json", `${tcpId},99`, "hi"]);
  assertEquals([relay.code, json(relay.stdout)], [0, {
    delivered: 1,
    unknown: ["99"],
  }]);
  assertEquals(text((await nextMessage(inbox)).body), "hi");
  const body = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  const big = await run([...at, "relay", `${tcpId}`], body);
  assertEquals([big.code, text(big.stdout), big.stderr], [
    0,
    "relayed 1\n",
    "",
  ]);
  assertEquals((await nextMessage(inbox)).body, body);

  const ping = await run([...at, "ping", "--count", "2", "--json"]);
  const result = json(ping.stdout) as Record<string, unknown>;
  assertEquals([ping.code, result.hub, result.count], [
    0,
    peer.url("/msghub"),
    2,
  ]);

  await using listener = new Running([...at, "listen", "--count", "1"]);
  const head = /^id (\d+)$/.exec(await listener.line());
  assert(head !== null);
  await tcp.relay([BigInt(head[1]!)], "to ws");
  assertEquals(await listener.line(), `message from ${tcpId}: to ws`);
  const end = await listener.finish();
  assertEquals([end.rest, end.code, end.stderr], [[], 0, ""]);

  assert(peer.received.length > 0, "the clients went through the peer");
  assert(peer.received.every((message) => message.binary), "binary messages");
});

Deno.test("a piped session works with --url ws://", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using other = await connect({ port: hub.addr.port });
  const otherId = await other.identity();
  const out = await run(
    ["--url", peer.url()],
    `identity\nlist\necho hi\nrelay ${otherId},99 x\nquit\n`,
  );
  const lines = text(out.stdout).split("\n");
  assertMatch(lines[0]!, /^identity \d+$/);
  assertEquals(lines.slice(1), [
    `list ${otherId}`,
    "echo hi",
    "relayed 1 unknown 99",
    "",
  ]);
  assertEquals([out.code, out.stderr], [0, ""]);
  assertEquals(text((await nextMessage(other.messages())).body), "x");
});

Deno.test("MSGHUB_URL can name a WebSocket hub", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  const out = await run(["echo", "env"], undefined, { MSGHUB_URL: peer.url() });
  assertEquals([out.code, text(out.stdout), out.stderr], [0, "env\n", ""]);
  assert(peer.received.length > 0, "it went through the peer");
});
