/**
 * How the bench reads a server's addresses back from its output: the TCP
 * port and, when asked, the WebSocket port, from the hub's listening line
 * and from nats-server's log.
 */
import { assertEquals, assertRejects } from "../_assert.ts";
import {
  HUB_READY,
  HUB_WS_READY,
  NATS_READY,
  NATS_WS_READY,
  startServer,
} from "../../bench/mod.ts";

/** A stand-in server: prints `lines` on stdout, then idles until stopped. */
function fake(lines: string[]) {
  const script = `${
    lines.map((line) => `console.log(${JSON.stringify(line)});`).join("")
  } setInterval(() => {}, 1000);`;
  return { command: Deno.execPath(), args: ["eval", script] };
}

Deno.test("the hub's WebSocket address is read from its listening line", async () => {
  const line = "msghub hub listening on 127.0.0.1:4100 ws=127.0.0.1:4200";
  assertEquals(HUB_READY.exec(line)?.slice(1), ["127.0.0.1", "4100"]);
  assertEquals(HUB_WS_READY.exec(line)?.slice(1), ["127.0.0.1", "4200"]);
  assertEquals(
    HUB_WS_READY.exec("listening on [::1]:1 ws=ws://[::1]:5")?.slice(1),
    ["[::1]", "5"],
  );
  assertEquals(HUB_WS_READY.exec("msghub hub listening on 127.0.0.1:1"), null);
  await using hub = await startServer({
    ...fake([line]),
    stream: "stdout",
    ready: HUB_READY,
    wsReady: HUB_WS_READY,
    pin: false,
  });
  assertEquals(hub.address, { hostname: "127.0.0.1", port: 4100 });
  assertEquals(hub.wsAddress, { hostname: "127.0.0.1", port: 4200 });
});

Deno.test("nats-server's WebSocket line may come before its client line", async () => {
  await using nats = await startServer({
    ...fake([
      "[1] [INF] Listening for websocket clients on ws://127.0.0.1:40833",
      "[1] [WRN] Websocket not configured with TLS. DO NOT USE IN PRODUCTION!",
      "[1] [INF] Listening for client connections on 127.0.0.1:41671",
    ]),
    stream: "stdout",
    ready: NATS_READY,
    wsReady: NATS_WS_READY,
    pin: false,
  });
  assertEquals(nats.address, { hostname: "127.0.0.1", port: 41671 });
  assertEquals(nats.wsAddress, { hostname: "127.0.0.1", port: 40833 });
});

Deno.test("a server without the WebSocket line is not ready, and says so", async () => {
  await assertRejects(
    () =>
      startServer({
        ...fake(["msghub hub listening on 127.0.0.1:4100"]),
        stream: "stdout",
        ready: HUB_READY,
        wsReady: HUB_WS_READY,
        pin: false,
        timeoutMs: 1500,
      }),
    Error,
    "no ready lines in time",
  );
});
