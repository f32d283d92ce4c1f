/**
 * `msghub client ping`: protocol PINGs, one round trip at a time, each
 * printed, then min/avg/max; `--json` gives one object.
 */
import { HEADER_SIZE } from "../../protocol/mod.ts";
import { serve } from "../../hub/mod.ts";
import { text } from "../_helpers.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { WsRecorder } from "../_ws_recorder.ts";
import { run } from "./_client_helpers.ts";

Deno.test("ping prints each round trip, then min/avg/max of them", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  const out = await run(["-p", `${port}`, "ping", "--count", "3"]);
  assertEquals([out.code, out.stderr], [0, ""]);
  const lines = text(out.stdout).split("\n");
  assertEquals(lines.length, 5, text(out.stdout));
  const rtts = lines.slice(0, 3).map((line, i) => {
    const match = /^round trip (\d+): (\d+\.\d{3}) ms$/.exec(line);
    assert(match !== null, line);
    assertEquals(Number(match[1]), i + 1);
    return match[2]!;
  });
  const summary = new RegExp(
    `^3 round trips to 127\\.0\\.0\\.1:${port}: min/avg/max (\\d+\\.\\d{3})/(\\d+\\.\\d{3})/(\\d+\\.\\d{3}) ms$`,
  ).exec(lines[3]!);
  assert(summary !== null, lines[3]);
  const [min, avg, max] = summary.slice(1).map(Number) as [
    number,
    number,
    number,
  ];
  assertEquals(min, Math.min(...rtts.map(Number)));
  assertEquals(max, Math.max(...rtts.map(Number)));
  assert(min <= avg && avg <= max, lines[3]);
  assertEquals(lines[4], "");

  const byDefault = await run(["-p", `${port}`, "ping"]);
  assertMatch(text(byDefault.stdout), /^5 round trips to /m);
});

Deno.test("ping --json prints one object, times in milliseconds", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  const out = await run(["-p", `${port}`, "ping", "--json", "--count", "4"]);
  assertEquals([out.code, out.stderr], [0, ""]);
  const lines = text(out.stdout).split("\n");
  assertEquals(lines.length, 2, "one line");
  const result = JSON.parse(lines[0]!);
  assertEquals(Object.keys(result), [
    "hub",
    "count",
    "rtt_ms",
    "min_ms",
    "avg_ms",
    "max_ms",
  ]);
  assertEquals([result.hub, result.count], [`127.0.0.1:${port}`, 4]);
  assertEquals(result.rtt_ms.length, 4);
  assertEquals(result.min_ms, Math.min(...result.rtt_ms));
  assertEquals(result.max_ms, Math.max(...result.rtt_ms));
  assert(result.min_ms <= result.avg_ms && result.avg_ms <= result.max_ms);
});

Deno.test("ping sends one PING per round trip, after the IDENTITY of connecting", async () => {
  // The peer sees each write of the client as one WebSocket message.
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  const out = await run(["--url", peer.url(), "ping", "--count", "4"]);
  assertEquals([out.code, out.stderr], [0, ""]);
  assertEquals(
    peer.received.map((message) => message.size),
    [HEADER_SIZE, HEADER_SIZE, HEADER_SIZE, HEADER_SIZE, HEADER_SIZE],
    "IDENTITY, then 4 PINGs",
  );
});
