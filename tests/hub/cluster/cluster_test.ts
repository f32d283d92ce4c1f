/**
 * Hubs in a cluster over a real nats-server: lists and relays across hubs,
 * ids, and what happens when a hub or NATS fails.
 */
import { assert, assertEquals, assertRejects } from "../../_assert.ts";
import { deadline, RawClient, waitFor } from "../../_helpers.ts";
import { HubProcess, ROOT, run } from "../../_cli.ts";
import {
  client,
  clusterHub,
  clusterTest,
  listIs,
  NatsServer,
  nextMessage,
  text,
} from "../../_nats.ts";
import { type Client, connect } from "../../../client/mod.ts";
import { formatMetrics, type Hub, serve } from "../../../hub/mod.ts";
import { decodePresence, Presence } from "../../../hub/cluster/wire.ts";
import { connect as connectNats } from "@nats-io/transport-node";
import { encodeFrame, Kind } from "../../../protocol/mod.ts";
import { IDS_PER_EPOCH } from "../../../hub/cluster/ids.ts";

let names = 0;

clusterTest(
  "cluster: two hubs list and relay to each other's clients",
  async () => {
    await using nats = await NatsServer.start();
    const name = `two${names++}`;
    await using hubA = await clusterHub(nats, name);
    await using hubB = await clusterHub(nats, name);
    await using a = await client(hubA);
    const aId = await a.identity();
    await using b1 = await client(hubB);
    await using b2 = await client(hubB);
    const [b1Id, b2Id] = [await b1.identity(), await b2.identity()];

    // Ids carry their hub's number in the high 32 bits.
    const numberA = hubA.metrics().cluster!.hub;
    const numberB = hubB.metrics().cluster!.hub;
    assert(numberA !== numberB);
    assertEquals(aId / BigInt(IDS_PER_EPOCH), BigInt(numberA));
    assertEquals(b1Id / BigInt(IDS_PER_EPOCH), BigInt(numberB));

    const took = await listIs(a, [b1Id, b2Id], "A's list");
    console.log(
      `  clients of hub B listed on hub A after ${took.toFixed(0)} ms`,
    );
    await listIs(b1, [aId, b2Id], "B's list");

    // A receipt counts receivers on the other hub, de-duplicated, and names
    // the ids that are nowhere in the cluster.
    const receipt = await a.relayWithReceipt(
      [b1Id, b2Id, b1Id, 77n],
      text("hi"),
    );
    assertEquals(receipt, { delivered: 2, unknown: [77n] });
    assertEquals(await nextMessage(b1), { sender: aId, body: "hi" });
    assertEquals(await nextMessage(b2), { sender: aId, body: "hi" });

    // The text dialect, too, both ways.
    await using t = await RawClient.connect(hubB.addr.port);
    await t.send(text("identity\n"));
    const tId = BigInt(/identity (\d+)/.exec(await t.line())![1]!);
    await listIs(a, [b1Id, b2Id, tId], "A's list with the text client");
    await t.send(text(`relay ${aId},${b1Id} across\n`));
    assertEquals(await t.line(), "relayed 2");
    assertEquals(await nextMessage(a), { sender: tId, body: "across" });
    await a.relay([tId], text("back"));
    assertEquals(await t.line(), `message ${aId} 4`);
    assertEquals(await t.line(), "back");

    // A client that leaves is gone from the other hub's list.
    await b2.close();
    await listIs(a, [b1Id, tId], "A's list after b2 left");
  },
);

clusterTest(
  "cluster: lists converge while clients come and go on every hub",
  async () => {
    await using nats = await NatsServer.start();
    const name = `churn${names++}`;
    const hubs = await Promise.all([0, 1, 2].map(() => clusterHub(nats, name)));
    await using observer = await client(hubs[0]!);
    const staying: bigint[] = [];
    // Waves of clients connect on all hubs; every other one leaves at once.
    for (let wave = 0; wave < 5; wave++) {
      await Promise.all(hubs.map(async (hub) => {
        const clients = await Promise.all(
          Array.from({ length: 20 }, () => client(hub)),
        );
        for (const [i, c] of clients.entries()) {
          const id = await c.identity();
          if (i % 2 === 0) await c.close();
          else staying.push(id);
        }
      }));
    }
    await listIs(observer, staying, "the observer's list after the churn");
    // Every hub agrees: each client sees everyone else.
    for (const hub of hubs) {
      await using probe = await client(hub);
      const probeId = await probe.identity();
      await listIs(
        probe,
        [...staying, await observer.identity()],
        "a probe's list",
      );
      await listIs(
        observer,
        [...staying, probeId],
        "the observer's list with the probe",
      );
    }
    await Promise.all(hubs.map((h) => h.shutdown()));
  },
);

clusterTest("cluster: a relay crosses to each other hub once", async () => {
  await using nats = await NatsServer.start();
  const name = `three${names++}`;
  await using hubA = await clusterHub(nats, name);
  await using hubB = await clusterHub(nats, name);
  await using hubC = await clusterHub(nats, name);
  await using sender = await client(hubA);
  const receivers: Client[] = [];
  for (const hub of [hubA, hubB, hubB, hubB, hubC, hubC]) {
    receivers.push(await client(hub));
  }
  const ids = await Promise.all(receivers.map((r) => r.identity()));
  await listIs(sender, ids, "the sender's list");
  const before = hubA.metrics().cluster!;

  const receipt = await sender.relayWithReceipt(ids, text("fan"));
  assertEquals(receipt, { delivered: 6, unknown: [] });
  for (const r of receivers) {
    assertEquals(await nextMessage(r), {
      sender: await sender.identity(),
      body: "fan",
    });
  }
  const after = hubA.metrics().cluster!;
  assertEquals(after.relaysOut - before.relaysOut, 2, "once to B, once to C");
  assertEquals(after.batchesOut - before.batchesOut, 2);
  assertEquals(hubB.metrics().cluster!.relaysIn, 1);
  assertEquals(hubC.metrics().cluster!.relaysIn, 1);
  assertEquals(hubB.metrics().counters.deliveries, 3);
  for (const r of receivers) await r.close();
});

clusterTest("cluster: order holds and 1 MiB bodies cross whole", async () => {
  await using nats = await NatsServer.start();
  const name = `order${names++}`;
  await using hubA = await clusterHub(nats, name);
  await using hubB = await clusterHub(nats, name);
  await using a = await client(hubA);
  await using b = await client(hubB);
  const bId = await b.identity();
  await listIs(a, [bId], "A's list");

  // NATS takes at most 1 MiB a message here: these go in parts.
  const big = new Uint8Array(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const count = 3000;
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 500) {
      big[0] = i & 0xff;
      await a.relay([bId], big);
    }
    await a.relay([bId], text(`#${i}`));
  }
  let next = 0;
  let bigs = 0;
  await deadline(
    (async () => {
      for await (const message of b.messages()) {
        if (message.body.length === big.length) {
          assertEquals(message.body.subarray(1), big.subarray(1));
          assertEquals(message.body[0], next & 0xff, "the big one in order");
          bigs++;
          continue;
        }
        assertEquals(new TextDecoder().decode(message.body), `#${next}`);
        if (++next === count) break;
      }
    })(),
    30_000,
    "every message",
  );
  assertEquals(bigs, 3);
  assertEquals(hubB.metrics().cluster!.gaps, 0);
});

clusterTest(
  "cluster: ids are unique under concurrent connects and restarts",
  async () => {
    await using nats = await NatsServer.start();
    const name = `ids${names++}`;
    const hubs = await Promise.all([0, 1, 2].map(() => clusterHub(nats, name)));
    const seen = new Set<bigint>();
    const connectMany = async (hub: Hub) => {
      const clients = await Promise.all(
        Array.from({ length: 40 }, () => client(hub)),
      );
      const ids = await Promise.all(clients.map((c) => c.identity()));
      await Promise.all(clients.map((c) => c.close()));
      return ids;
    };
    for (const ids of await Promise.all(hubs.map(connectMany))) {
      for (const id of ids) seen.add(id);
    }
    assertEquals(seen.size, 120);
    // A hub that restarts takes a new number: no id comes back.
    const numbers = new Set(hubs.map((h) => h.metrics().cluster!.hub));
    await hubs[0]!.shutdown();
    hubs[0] = await clusterHub(nats, name);
    assert(!numbers.has(hubs[0].metrics().cluster!.hub));
    for (const id of await connectMany(hubs[0])) {
      assert(!seen.has(id), `id ${id} was given out before`);
      seen.add(id);
    }
    await Promise.all(hubs.map((h) => h.shutdown()));
  },
);

clusterTest(
  "cluster: a hub killed with SIGKILL vanishes from the others",
  async () => {
    await using nats = await NatsServer.start();
    const name = `kill${names++}`;
    // Default heartbeat and dead-after, as an operator would run it.
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
    doomed.child.kill("SIGKILL");
    await doomed.child.status;
    const took = await listIs(a, [], "A's list after the kill", 10_000);
    console.log(
      `  killed hub's client gone from the list after ${took.toFixed(0)} ms`,
    );
    assertEquals(await a.relayWithReceipt([kId], text("x")), {
      delivered: 0,
      unknown: [kId],
    });
    await k.close().catch(() => {});
  },
);

clusterTest("cluster: a hub that shuts down is forgotten at once", async () => {
  await using nats = await NatsServer.start();
  const name = `bye${names++}`;
  await using hubA = await clusterHub(nats, name, {}, 60_000);
  const hubB = await clusterHub(nats, name, {}, 60_000);
  await using a = await client(hubA);
  const b = await client(hubB);
  await listIs(a, [await b.identity()], "A's list");
  await hubB.shutdown();
  // Well before 60 s of silence: the hub said goodbye.
  await listIs(a, [], "A's list after B left", 5_000);
  await b.close().catch(() => {});
});

clusterTest(
  "cluster: hubs serve through a NATS restart and recover",
  async () => {
    const nats = await NatsServer.start();
    const name = `restart${names++}`;
    await using hubA = await clusterHub(nats, name);
    await using hubB = await clusterHub(nats, name);
    await using a1 = await client(hubA);
    await using a2 = await client(hubA);
    await using b = await client(hubB);
    const [a2Id, bId] = [await a2.identity(), await b.identity()];
    await listIs(a1, [a2Id, bId], "A's list");

    await nats.kill();
    await waitFor(
      () => !hubA.metrics().cluster!.connected,
      "A to see NATS gone",
    );
    // Local clients are still served meanwhile.
    await a1.relay([a2Id], text("local"));
    assertEquals((await nextMessage(a2)).body, "local");
    // B's clients drop out of A's list once B is silent for too long.
    await listIs(a1, [a2Id], "A's list while NATS is down");

    await using again = await nats.restart();
    await waitFor(
      () =>
        hubA.metrics().cluster!.connected && hubB.metrics().cluster!.connected,
      "both hubs to reconnect",
    );
    await using b2 = await client(hubB);
    const b2Id = await b2.identity();
    await listIs(a1, [a2Id, bId, b2Id], "A's list after NATS came back");
    await a1.relay([bId, b2Id], text("again"));
    assertEquals((await nextMessage(b)).body, "again");
    assertEquals((await nextMessage(b2)).body, "again");
    assert(hubA.metrics().cluster!.reconnects >= 1);
    assert(hubA.metrics().cluster!.disconnects >= 1);
    // JetStream kept its count: a hub that joins now gets a new number.
    await using hubC = await clusterHub(again, name);
    const numbers = [hubA, hubB].map((h) => h.metrics().cluster!.hub);
    assert(hubC.metrics().cluster!.hub > Math.max(...numbers));
    await Deno.remove(nats.store, { recursive: true });
  },
);

clusterTest(
  "cluster: a slow receiver on another hub is cut, not its neighbours",
  async () => {
    await using nats = await NatsServer.start();
    const name = `slow${names++}`;
    await using hubA = await clusterHub(nats, name);
    await using hubB = await clusterHub(nats, name, {
      maxPending: 2 * 1024 * 1024,
      maxStall: 0,
    });
    await using a = await client(hubA);
    await using healthy = await client(hubB);
    // A raw client that registers, then never reads.
    await using stuck = await RawClient.connect(hubB.addr.port);
    await stuck.send(encodeFrame(Kind.Identity, new Uint8Array(0)));
    const reply = await stuck.frame();
    const stuckId = new DataView(reply.payload.buffer).getBigUint64(0);
    const healthyId = await healthy.identity();
    await listIs(a, [healthyId, stuckId], "A's list");
    const body = new Uint8Array(128 * 1024);
    const count = 64; // 8 MiB for each receiver: 4 times the stuck one's limit
    // No back-pressure crosses hubs, so the sender keeps pace with the
    // healthy receiver (1 MiB at a time) while the stuck one falls behind.
    for (let sent = 0; sent < count; sent += 8) {
      await Promise.all(
        Array.from({ length: 8 }, () => a.relay([healthyId, stuckId], body)),
      );
      for (let i = 0; i < 8; i++) await nextMessage(healthy);
    }
    await waitFor(
      () => hubB.metrics().counters.slowConsumers === 1,
      "B to cut the stuck receiver",
    );
    await listIs(a, [healthyId], "A's list without the stuck receiver");
  },
);

clusterTest(
  "cluster: metrics count cross-hub relays and NATS state",
  async () => {
    await using nats = await NatsServer.start();
    const name = `metrics${names++}`;
    await using hubA = await clusterHub(nats, name);
    await using hubB = await clusterHub(nats, name);
    await using a = await client(hubA);
    await using b = await client(hubB);
    const bId = await b.identity();
    await listIs(a, [bId], "A's list");
    await a.relay([bId], text("m"));
    await nextMessage(b);
    const page = formatMetrics(hubA.metrics());
    assert(page.includes("\nmsghub_cluster_hubs 1\n"), page);
    assert(page.includes("\nmsghub_cluster_remote_clients 1\n"));
    assert(page.includes("\nmsghub_cluster_connected 1\n"));
    assert(page.includes("\nmsghub_cluster_relays_sent_total 1\n"));
    assert(
      formatMetrics(hubB.metrics()).includes(
        "\nmsghub_cluster_relays_received_total 1\n",
      ),
    );
    // A hub on its own has none of these.
    await using alone = await serve({ port: 0 });
    assert(!formatMetrics(alone.metrics()).includes("msghub_cluster_"));
  },
);

clusterTest(
  "cluster: clear errors when NATS stays missing or has no JetStream",
  async () => {
    await using plain = await NatsServer.start({ jetstream: false });
    await assertRejects(
      () => serve({ port: 0, cluster: { servers: [plain.url] } }),
      Error,
      "JetStream",
    );
    const port = plain.port;
    await plain.kill();
    // A hub waits for NATS up to its start timeout, then gives up.
    await assertRejects(
      () =>
        serve({
          port: 0,
          cluster: { servers: [`nats://127.0.0.1:${port}`], startTimeout: 300 },
        }),
      Error,
      "cannot connect to NATS",
    );
    const out = await run([
      "hub",
      "--port",
      "0",
      "--cluster",
      `nats://127.0.0.1:${port}`,
      "--cluster-start-timeout",
      "300ms",
    ]);
    assertEquals(out.code, 1);
    assert(out.stderr.includes("cannot connect to NATS"), out.stderr);
  },
);

Deno.test("cluster flags: checked before anything starts", async () => {
  const stray = await run(["hub", "--cluster-name", "x"]);
  assertEquals(stray.code, 2);
  assert(stray.stderr.includes("--cluster-name needs --cluster"), stray.stderr);
  const badName = await run([
    "hub",
    "--cluster",
    "nats://127.0.0.1:1",
    "--cluster-name",
    "a.b",
  ]);
  assertEquals(badName.code, 1);
  assert(badName.stderr.includes("cluster-name"), badName.stderr);
  const badUrl = await run(["hub", "--cluster", "http://x/y"]);
  assertEquals(badUrl.code, 1);
  assert(badUrl.stderr.includes("not a NATS URL"), badUrl.stderr);
});

Deno.test("a hub without --cluster loads nothing of NATS", async () => {
  // Walk main.ts's module graph along static imports only.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert(out.success);
  type Dep = {
    code?: { specifier?: string };
    type?: { specifier?: string };
    isDynamic?: boolean;
  };
  type Mod = { specifier: string; dependencies?: Dep[] };
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: Mod[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [...graph.roots];
  let dynamicToCluster = false;
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    const resolved = graph.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    for (const dep of bySpecifier.get(resolved)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (target === undefined) continue;
      if (dep.isDynamic === true) {
        if (target.endsWith("/hub/cluster/link.ts")) dynamicToCluster = true;
        continue;
      }
      queue.push(target);
    }
  }
  assert(dynamicToCluster, "hub.ts imports the cluster link on demand");
  const nats = [...seen].filter((s) => s.includes("@nats-io"));
  assertEquals(nats, [], "static imports reach NATS");
  assert(seen.size > 10, "the graph was walked");
});

clusterTest(
  "cluster: a hub number is never handed out twice, even when NATS forgets",
  async () => {
    const nats = await NatsServer.start();
    const name = `reset${names++}`;
    await using hubA = await clusterHub(nats, name);
    await using a = await client(hubA);
    const aId = await a.identity();
    // A port already taken fails before a hub number is spent.
    await assertRejects(
      () => clusterHub(nats, name, { port: hubA.addr.port }),
      Deno.errors.AddrInUse,
    );
    await using hubB = await clusterHub(nats, name);
    assertEquals(
      hubB.metrics().cluster!.hub,
      hubA.metrics().cluster!.hub + 1,
      "no number was spent on the failed start",
    );
    // NATS comes back on the same port with an empty store: its count of hub
    // numbers starts again at 1, which hub A is still using.
    await nats.kill();
    await Deno.remove(nats.store, { recursive: true });
    await using fresh = await NatsServer.start({ port: nats.port });
    await waitFor(
      () =>
        hubA.metrics().cluster!.connected && hubB.metrics().cluster!.connected,
      "both hubs to reconnect",
    );
    await using hubC = await clusterHub(fresh, name);
    assert(
      hubC.metrics().cluster!.hub > hubB.metrics().cluster!.hub,
      `hub C got number ${hubC.metrics().cluster!.hub}`,
    );
    await using c = await client(hubC);
    const cId = await c.identity();
    assert(cId !== aId);
    await listIs(a, [
      await (async () => {
        const b = await client(hubB);
        return await b.identity();
      })(),
      cId,
    ], "A's list");
  },
);

clusterTest(
  "cluster: a small max_payload still carries every relay",
  async () => {
    await using nats = await NatsServer.start({
      config: "max_payload: 16384\n",
    });
    const name = `payload${names++}`;
    await using hubA = await clusterHub(nats, name);
    await using hubB = await clusterHub(nats, name);
    await using a = await client(hubA);
    await using b = await client(hubB);
    const bId = await b.identity();
    await listIs(a, [bId], "A's list");
    // Pipelined: one read on hub A, more than one NATS message's worth.
    const body = new Uint8Array(4096).fill(7);
    const big = new Uint8Array(40_000).fill(9);
    await Promise.all([
      ...Array.from({ length: 12 }, () => a.relay([bId], body)),
      a.relay([bId], big),
    ]);
    let bytes = 0;
    for (let i = 0; i < 13; i++) bytes += (await nextMessage(b)).body.length;
    assertEquals(bytes, 12 * 4096 + 40_000);
    const m = hubA.metrics().cluster!;
    assertEquals(m.publishErrors, 0);
    assertEquals(hubB.metrics().cluster!.gaps, 0);
  },
);

clusterTest(
  "cluster: a hub that was stalled does not take the others for dead",
  async () => {
    await using nats = await NatsServer.start();
    const name = `stall${names++}`;
    // Hub B takes a hub for dead after 2.5 s of silence, the stalled hub
    // after 1 s: once B has dropped the stalled hub, the stalled hub has been
    // frozen for well over its own dead-after.
    await using hubB = await clusterHub(nats, name, {}, 2_500);
    await using stalled = await HubProcess.start([
      "--cluster",
      nats.url,
      "--cluster-name",
      name,
      "--cluster-heartbeat",
      "100ms",
      "--cluster-dead-after",
      "1s",
      "--log-level",
      "debug",
    ], { logs: true });
    await using b = await client(hubB);
    const bId = await b.identity();
    await using s = await connect({ port: stalled.port });
    const stalledNumber = Number((await s.identity()) / BigInt(IDS_PER_EPOCH));
    await listIs(s, [bId], "the stalled hub's list");
    await waitFor(
      () => hubB.metrics().cluster!.hubs === 1,
      "hub B to know the stalled hub",
    );
    // The stalled hub's heartbeats, as NATS carries them.
    await using watcher = await connectNats({ servers: nats.url });
    let beats = 0;
    watcher.subscribe(`msghub.${name}.presence`, {
      callback: (error, msg) => {
        if (error !== null) return;
        const message = decodePresence(msg.data);
        if (
          message.kind === Presence.Heartbeat && message.hub === stalledNumber
        ) {
          beats++;
        }
      },
    });
    await watcher.flush();

    // Frozen until hub B takes it for dead: hub B is silent to it all that
    // time only because it is not reading.
    Deno.kill(stalled.child.pid, "SIGSTOP");
    await waitFor(
      () => hubB.metrics().cluster!.hubs === 0,
      "hub B to take the frozen hub for dead",
    );
    beats = 0;
    Deno.kill(stalled.child.pid, "SIGCONT");
    // Its first heartbeat after waking checks the others' silence just
    // after it is sent; by its second, that check has run.
    await waitFor(() => beats >= 2, "two heartbeats after waking");
    await listIs(s, [bId], "the stalled hub's list after it woke");
    // Its log is one ordered stream: once a line logged after that check is
    // in, any "hub lost" line would be in too.
    await using probe = await connect({ port: stalled.port });
    const probeId = String(await probe.identity());
    await waitFor(
      () =>
        stalled.logs.some((line) =>
          line.includes("registered") && line.includes(probeId)
        ),
      "the stalled hub to log the probe",
    );
    assertEquals(
      stalled.logs.filter((line) => line.includes("hub lost")),
      [],
      "it took hub B for dead",
    );
  },
);
