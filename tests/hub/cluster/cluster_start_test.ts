/**
 * Hubs starting while NATS is down or JetStream has no leader: they wait,
 * retry with backoff and log it, and serve once JetStream answers, with ids
 * unique throughout. One test runs a 3-node NATS cluster with routes and a
 * 3-replica numbering stream, created by the hub itself, and kills its
 * JetStream metadata leader.
 */
import { assert, assertEquals } from "../../_assert.ts";
import { deadline, LogRecorder } from "../../_helpers.ts";
import {
  client,
  clusterHub,
  clusterTest,
  listIs,
  NatsCluster,
  NatsServer,
  nextMessage,
  text,
} from "../../_nats.ts";
import type { Hub } from "../../../hub/mod.ts";
import { IDS_PER_EPOCH } from "../../../hub/cluster/ids.ts";
import { connect as connectNats } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

const EPOCH = BigInt(IDS_PER_EPOCH);
let names = 0;

/** A port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Each hub's client ids carry its number; the numbers are all different. */
async function idsUnique(hubs: Hub[]): Promise<void> {
  const ids = await Promise.all(hubs.map(async (hub) => {
    await using c = await client(hub);
    const id = await c.identity();
    assertEquals(id / EPOCH, BigInt(hub.metrics().cluster!.hub));
    return id;
  }));
  assertEquals(new Set(ids).size, hubs.length, `ids ${ids.join(",")}`);
}

clusterTest(
  "cluster start: a hub started before NATS waits for it",
  async () => {
    const port = freePort();
    const name = `early${names++}`;
    const log = new LogRecorder();
    const starting = clusterHub(
      [`nats://127.0.0.1:${port}`],
      name,
      { logger: log.logger },
    );
    await log.next("cannot connect to NATS yet; retrying");
    const retry = log.find("cannot connect to NATS yet; retrying")[0]!;
    assert(Number(retry.fields.retry_ms) <= 2_000, "backoff capped at 2 s");
    await using nats = await NatsServer.start({ port });
    const up = performance.now();
    await using hub = await deadline(starting, 20_000, "the hub to start");
    console.log(
      `  hub serving ${
        (performance.now() - up).toFixed(0)
      } ms after NATS started`,
    );
    await using other = await clusterHub(nats, name);
    await idsUnique([hub, other]);
    await using a = await client(hub);
    await using b = await client(other);
    await listIs(a, [await b.identity()], "the early hub's list");
  },
);

clusterTest(
  "cluster start: a hub starts through a JetStream election on a 3-node NATS cluster",
  async () => {
    await using nats = await NatsCluster.start();
    const name = `elect${names++}`;
    const options = { replicas: 3 };
    await using hubA = await clusterHub(nats.urls, name, {}, 1_000, options);
    // The hub made the numbering stream with three replicas.
    {
      await using nc = await connectNats({ servers: nats.urls });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(`MSGHUB_${name}_HUBS`);
      assertEquals(info.config.num_replicas, 3);
    }

    // The metadata leader dies; a hub starting at once gets its number once
    // JetStream has elected another (it used to give up after 5 s).
    const leader = await nats.leader();
    const i = nats.nodes.indexOf(leader);
    await leader.kill();
    const killed = performance.now();
    const log = new LogRecorder();
    await using hubB = await deadline(
      clusterHub(nats.urls, name, { logger: log.logger }, 1_000, options),
      60_000,
      "hub B to start through the election",
    );
    const retries = log.find(
      "cannot take a hub number from NATS yet; retrying",
    );
    console.log(
      `  hub B serving ${
        (performance.now() - killed).toFixed(0)
      } ms after the leader was killed, ${retries.length} retries logged`,
    );
    for (const event of retries) {
      assert(Number(event.fields.retry_ms) <= 2_000, "backoff capped at 2 s");
    }
    // One more hub joins while the node is still down, then it comes back.
    await using hubC = await deadline(
      clusterHub(nats.urls, name, {}, 1_000, options),
      60_000,
      "hub C to start",
    );
    await nats.restart(i);

    // Ids are unique across all three, and the hubs reach each other.
    await idsUnique([hubA, hubB, hubC]);
    await using a = await client(hubA);
    await using c = await client(hubC);
    const cId = await c.identity();
    await listIs(a, [cId], "A's list with C's client", 20_000);
    await a.relay([cId], text("after the election"));
    assertEquals((await nextMessage(c)).body, "after the election");
  },
);
