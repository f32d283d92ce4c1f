/**
 * Receipts across hubs over a real nats-server: a receiver on another hub
 * counts as delivered only once that hub has queued the message for it; a
 * hub that was just killed confirms nothing, so its clients are reported
 * unknown after the ack timeout, while it is still listed.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { RawClient } from "../../_helpers.ts";
import { HubProcess } from "../../_cli.ts";
import {
  client,
  clusterHub,
  clusterTest,
  listIs,
  NatsServer,
  nextMessage,
  text,
} from "../../_nats.ts";
import { connect } from "../../../client/mod.ts";

let names = 0;

clusterTest(
  "cluster receipts: confirmed by the receiving hub, unknown when it was just killed",
  async () => {
    await using nats = await NatsServer.start();
    const name = `receipt${names++}`;
    // Default heartbeat, dead-after (3 s) and ack timeout (1 s).
    await using hubA = await clusterHub(nats, name, {}, 3_000);
    await using doomed = await HubProcess.start([
      "--cluster",
      nats.url,
      "--cluster-name",
      name,
    ]);
    await using a = await client(hubA);
    const k = await connect({ port: doomed.port });
    const kId = await k.identity();
    await listIs(a, [kId], "A's list");

    // Confirmed by hub K: delivered, and there.
    assertEquals(await a.relayWithReceipt([kId, kId], text("one")), {
      delivered: 1,
      unknown: [],
    });
    assertEquals((await nextMessage(k)).body, "one");
    // The text dialect waits for the confirmation too, and replies in order.
    await using t = await RawClient.connect(hubA.addr.port);
    await t.send(text(`relay ${kId} two\nidentity\n`));
    assertEquals(await t.line(), "relayed 1");
    assert((await t.line()).startsWith("identity "));
    assertEquals((await nextMessage(k)).body, "two");

    // Killed: hub A still lists K's client for 3 s, but K confirms nothing.
    doomed.child.kill("SIGKILL");
    await doomed.child.status;
    const killed = performance.now();
    const sent = Array.from(
      { length: 12 },
      (_, i) => a.relayWithReceipt([kId], text(`lost ${i}`)),
    );
    // An ECHO after them is answered after their receipts, in order.
    const echoed = a.echo(text("after"));
    const receipts = await Promise.all(sent);
    const sentWithin = performance.now() - killed;
    for (const receipt of receipts) {
      assertEquals(receipt, { delivered: 0, unknown: [kId] });
    }
    assertEquals(new TextDecoder().decode(await echoed), "after");
    assertEquals(
      hubA.metrics().cluster!.remoteClients,
      1,
      "reported unknown by the ack timeout, not by K being dropped",
    );
    console.log(
      `  12 receipts to the killed hub's client: all unknown, after ${
        sentWithin.toFixed(0)
      } ms`,
    );
    // A plain relay is not held up: it goes on at once, and what follows is
    // answered at once.
    await a.relay([kId], text("fire and forget"));
    assertEquals(new TextDecoder().decode(await a.echo(text("fast"))), "fast");
    await k.close().catch(() => {});
  },
);
