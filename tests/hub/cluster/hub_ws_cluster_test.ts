/**
 * With `--cluster`, WebSocket clients are cluster clients like any other: a
 * WebSocket client on one hub and a TCP client on another list and relay to
 * each other. Skipped, saying why, without nats-server.
 */
import { assertEquals } from "@std/assert";
import { connect } from "../../../client/mod.ts";
import { serve } from "../../../hub/mod.ts";
import { deadline, text } from "../../_helpers.ts";
import { NatsServer, NO_NATS } from "../../_nats.ts";

Deno.test({
  name:
    "ws cluster: a WebSocket client on one hub and a TCP client on another relay both ways",
  ignore: NO_NATS,
  fn: async () => {
    await using nats = await NatsServer.start();
    const cluster = {
      servers: [nats.url],
      name: `ws${Date.now()}`,
      heartbeat: 100,
      deadAfter: 1_000,
    };
    await using a = await serve({ port: 0, wsPort: 0, cluster });
    await using b = await serve({ port: 0, cluster });
    await using ws = await connect(`ws://127.0.0.1:${a.wsAddr!.port}/`);
    await using tcp = await connect({ port: b.addr.port });
    const wsId = await ws.identity();
    const tcpId = await tcp.identity();
    // Presence crosses the cluster on its own schedule: wait for it.
    await deadline(
      (async () => {
        while ((await ws.list()).join() !== String(tcpId)) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      10_000,
      "hub A to list the TCP client of hub B",
    );
    assertEquals(await tcp.list(), [wsId]);
    assertEquals(await ws.relayWithReceipt([tcpId], "from ws"), {
      delivered: 1,
      unknown: [],
    });
    await tcp.relay([wsId], "from tcp");
    const [atTcp, atWs] = await Promise.all([
      deadline(tcp.messages().next(), 10_000, "a message at the TCP client"),
      deadline(ws.messages().next(), 10_000, "a message at the WS client"),
    ]);
    assertEquals([atTcp.value!.sender, text(atTcp.value!.body)], [
      wsId,
      "from ws",
    ]);
    assertEquals([atWs.value!.sender, text(atWs.value!.body)], [
      tcpId,
      "from tcp",
    ]);
  },
});
