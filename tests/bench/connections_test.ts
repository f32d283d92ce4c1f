import { assertEquals, assertGreater } from "@std/assert";
import { parseNetstat, runConnections } from "../../bench/mod.ts";
import { serve } from "../../hub/mod.ts";

Deno.test("runConnections connects, lists and lets go of every client, twice", async () => {
  await using hub = await serve({ port: 0, logger: () => {} });
  const result = await runConnections({
    server: "msghub",
    address: { hostname: "127.0.0.1", port: hub.addr.port },
    pid: Deno.pid,
    count: 30,
    parallel: 7,
    waves: 2,
  });
  assertEquals(result.waves.length, 2);
  for (const wave of result.waves) {
    assertEquals(wave.connected, 30);
    assertEquals(wave.failed, 0);
    assertGreater(wave.listUs!.median, 0);
    // This process holds both ends: its fds are back once the hub let go too.
    assertEquals(wave.fdsAfter, result.baselineFds);
  }
});

Deno.test("parseNetstat reads the TcpExt counters by name", () => {
  const text = "TcpExt: A ListenOverflows ListenDrops\nTcpExt: 1 2 3\n" +
    "IpExt: X\nIpExt: 9\n";
  const map = parseNetstat(text);
  assertEquals(map.get("ListenOverflows"), 2);
  assertEquals(map.get("ListenDrops"), 3);
  assertEquals(map.get("X"), undefined);
});
