/**
 * The monitoring endpoints over real sockets: `/hubz`, `/connz`, the token,
 * `/healthz` while draining, the console's files, and the process metrics.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_assert.ts";
import { connect } from "../../client/mod.ts";
import {
  type Connz,
  type Hubz,
  listenMetrics,
  serve,
  serveMetrics,
} from "../../hub/mod.ts";
import { processStats } from "../../hub/monitor/process.ts";
import { LogRecorder, RawClient, waitFor } from "../_helpers.ts";
import { WsClient } from "../_ws_client.ts";

async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return {
    status: response.status,
    body: await response.text(),
    headers: response.headers,
  };
}

async function getJson<T>(port: number, path: string): Promise<T> {
  const { status, body } = await get(port, path);
  assertEquals(status, 200, `${path}: ${body}`);
  return JSON.parse(body) as T;
}

Deno.test("monitor: /hubz describes the hub, its traffic, closes and process", async () => {
  await using hub = await serve({ port: 0, token: "sesame-hubz" });
  await using monitor = await serveMetrics(hub, { port: 0 });
  const port = hub.addr.port;
  const auth = { authorization: "Bearer sesame-hubz" };
  await using alice = await connect({ port, token: "sesame-hubz" });
  await using bob = await connect({ port, token: "sesame-hubz" });
  await using typist = await RawClient.connect(port);
  await typist.send("auth sesame-hubz\nrelay 1,2 hello\n");
  assertEquals(await typist.line(), "auth ok");
  assertEquals(await typist.line(), "relayed 2");
  assertEquals(
    await alice.relayWithReceipt([await bob.identity()], "hi"),
    { delivered: 1, unknown: [] },
  );
  {
    await using quitter = await RawClient.connect(port);
    await quitter.send("auth sesame-hubz\n");
    assertEquals(await quitter.line(), "auth ok");
    await quitter.send("quit\n");
    assert(await quitter.closedByPeer());
  }
  await waitFor(() => hub.stats.connections === 3, "the quitter to be gone");

  const { status, body } = await get(monitor.addr.port, "/hubz?history", auth);
  assertEquals(status, 200, body);
  const hubz = JSON.parse(body) as Hubz;
  assertMatch(hubz.version, /^\d+\.\d+\.\d+/);
  assert(hubz.start_ms <= hubz.now_ms);
  assert(hubz.uptime_seconds >= 0);
  assertEquals(hubz.draining, false);
  assertEquals(hubz.listening, [{
    transport: "tcp",
    tls: false,
    address: `127.0.0.1:${port}`,
  }]);
  assertEquals(hubz.monitor, `127.0.0.1:${monitor.addr.port}`);
  assertEquals(hubz.options.token, true, "whether there is a token");
  assert(!body.includes("sesame"), "the token is never served");
  assertEquals(hubz.options["write-timeout"], "10s");
  assertEquals(hubz.connections.open, 3);
  assertEquals(hubz.connections.registered, 3);
  assertEquals(hubz.connections.by_dialect, {
    binary: 2,
    text: 1,
    unknown: 0,
  });
  assertEquals(hubz.connections.by_transport.tcp, 3);
  // Deliveries: the text relay reached two, alice's relay one.
  assertEquals(hubz.totals.msgs_out, 3);
  assertEquals(hubz.totals.relays, 2);
  assertEquals(hubz.totals.receipts, 2);
  assert(hubz.totals.msgs_in >= 6, `msgs_in ${hubz.totals.msgs_in}`);
  assert(hubz.totals.bytes_in > 0 && hubz.totals.bytes_out > 0);
  assertEquals(hubz.closes.client_quit, 1);
  assertEquals(hubz.closes.slow_consumer, 0);
  assertEquals(hubz.errors.unauthorized, 0);
  assertEquals(Object.keys(hubz.rates).sort(), [
    "bytes_in",
    "bytes_out",
    "msgs_in",
    "msgs_out",
  ]);
  assert(hubz.process.rss_bytes > 0);
  assert(hubz.process.heap_used_bytes > 0);
  assert(hubz.process.cpu_seconds > 0);
  assertEquals(hubz.cluster, null);
  assert(hubz.history !== undefined && hubz.history.length >= 1);
  assert(
    !("history" in
      JSON.parse((await get(monitor.addr.port, "/hubz", auth)).body)),
  );
});

Deno.test("monitor: /connz lists clients, sorts, pages, and keeps recent closes", async () => {
  await using hub = await serve({ port: 0 });
  await using monitor = await serveMetrics(hub, { port: 0 });
  const port = hub.addr.port;
  const m = monitor.addr.port;
  await using a = await RawClient.connect(port);
  await using b = await RawClient.connect(port);
  await using c = await RawClient.connect(port);
  // Different traffic per client, so that sorts tell them apart.
  await a.send("echo x\n");
  assertEquals(await a.line(), "echo x");
  await b.send("echo " + "y".repeat(100) + "\n");
  await b.line();
  await c.send("echo " + "z".repeat(50) + "\n");
  await c.line();
  await b.send("identity\n");
  assertEquals(await b.line(), "identity 2");

  const all = await getJson<Connz>(m, "/connz");
  assertEquals(all.total, 3);
  assertEquals(all.connections.map((x) => x.id), [1, 2, 3]);
  const first = all.connections[0]!;
  assertEquals(first.dialect, "text");
  assertEquals(first.transport, "tcp");
  assertEquals(first.tls, false);
  assertEquals(first.authenticated, true);
  assertEquals(first.msgs_in, 1);
  assertEquals(first.msgs_out, 1);
  assertEquals(first.bytes_in, "echo x\n".length);
  assertEquals(first.bytes_out, "echo x\n".length);
  assertEquals(first.bytes_queued, 0);
  assertMatch(first.remote, /^127\.0\.0\.1:\d+$/);
  assert(first.idle_seconds >= 0);
  assert(first.connected_ms <= all.now_ms);

  const bytesIn = await getJson<Connz>(m, "/connz?sort=bytes_in");
  assertEquals(bytesIn.connections.map((x) => x.id), [2, 3, 1]);
  const byNats = await getJson<Connz>(
    m,
    "/connz?sort=bytes_from&limit=1&offset=1",
  );
  assertEquals(byNats.connections.map((x) => x.id), [3]);
  assertEquals([byNats.total, byNats.limit, byNats.offset], [3, 1, 1]);
  const msgs = await getJson<Connz>(m, "/connz?sort=msgs_in&limit=1");
  assertEquals(msgs.connections.map((x) => x.id), [2]);
  const past = await getJson<Connz>(m, "/connz?offset=5");
  assertEquals(past.connections, []);

  const bad = await get(m, "/connz?sort=colour");
  assertEquals(bad.status, 400);
  assertStringIncludes(JSON.parse(bad.body).error, 'Unknown sort "colour"');
  assertEquals((await get(m, "/connz?limit=-1")).status, 400);

  const one = await getJson<{ id: number; bytes_in: number }>(m, "/connz/2");
  assertEquals(one.id, 2);
  assertEquals(one.bytes_in, 106 + "identity\n".length);
  assertEquals((await get(m, "/connz/99")).status, 404);
  assertEquals((await get(m, "/connz/abc")).status, 404);

  await c.send("quit\n");
  assert(await c.closedByPeer());
  await waitFor(() => hub.stats.connections === 2, "c to be gone");
  const after = await getJson<Connz>(m, "/connz");
  assertEquals(after.connections.map((x) => x.id), [1, 2]);
  assertEquals(after.recent_closes.length, 1);
  const gone = after.recent_closes[0]!;
  assertEquals([gone.id, gone.reason, gone.transport], [
    3,
    "client_quit",
    "tcp",
  ]);
  assertMatch(gone.remote, /^127\.0\.0\.1:\d+$/);
  assert(gone.closed_ms >= gone.connected_ms);
});

Deno.test("monitor: with a token, data needs Bearer auth; the console and /healthz stay open", async () => {
  await using hub = await serve({ port: 0, token: "open-sesame" });
  await using monitor = await serveMetrics(hub, { port: 0 });
  const m = monitor.addr.port;
  for (const path of ["/hubz", "/connz", "/connz/1", "/metrics"]) {
    const none = await get(m, path);
    assertEquals(none.status, 401, path);
    assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="msghub"');
    const wrong = await get(m, path, { authorization: "Bearer open-sesamE" });
    assertEquals(wrong.status, 401, path);
    const short = await get(m, path, { authorization: "Bearer open" });
    assertEquals(short.status, 401, path);
    const basic = await get(m, path, { authorization: "Basic b3Blbg==" });
    assertEquals(basic.status, 401, path);
  }
  await using client = await connect({
    port: hub.addr.port,
    token: "open-sesame",
  });
  const id = Number(await client.identity());
  const ok = { authorization: "Bearer open-sesame" };
  assertEquals((await get(m, "/hubz", ok)).status, 200);
  const connz = JSON.parse((await get(m, "/connz", ok)).body) as Connz;
  assertEquals(connz.connections.map((c) => c.id), [id]);
  assertEquals((await get(m, `/connz/${id}`, ok)).status, 200);
  const metrics = await get(m, "/metrics", ok);
  assertEquals(metrics.status, 200);
  assertStringIncludes(metrics.body, "msghub_connections 1");
  const page = await get(m, "/");
  assertEquals(page.status, 200);
  assertStringIncludes(page.headers.get("content-type")!, "text/html");
  assertStringIncludes(page.body, '<script type="module" src="/console.js">');
  const script = await get(m, "/console.js");
  assertEquals(script.status, 200);
  assertStringIncludes(script.headers.get("content-type")!, "javascript");
  assertEquals((await get(m, "/console.css")).status, 200);
  assertEquals((await get(m, "/healthz")).status, 200);
  await client.close();
});

Deno.test("monitor: /healthz answers 503 while the hub drains", async () => {
  await using hub = await serve({ port: 0, drainTimeout: 10_000 });
  await using monitor = await serveMetrics(hub, { port: 0 });
  // A client that reads nothing keeps the drain going.
  using stuck = await Deno.connect({ port: hub.addr.port });
  await stuck.write(new TextEncoder().encode("identity\n"));
  await waitFor(() => hub.stats.registered === 1, "the client to register");
  assertEquals((await get(monitor.addr.port, "/healthz")).body, "ok");
  const stopping = hub.shutdown();
  const during = await get(monitor.addr.port, "/healthz");
  assertEquals([during.status, during.body], [503, "shutting down"]);
  const hubz = await getJson<Hubz>(monitor.addr.port, "/hubz");
  assertEquals(hubz.draining, true);
  stuck.close();
  await stopping;
});

Deno.test("monitor: /metrics adds process_* metrics and the build info", async () => {
  await using hub = await serve({ port: 0 });
  await using monitor = await serveMetrics(hub, { port: 0 });
  const { body } = await get(monitor.addr.port, "/metrics");
  for (
    const family of [
      "process_resident_memory_bytes gauge",
      "process_cpu_seconds_total counter",
      "process_start_time_seconds gauge",
      "msghub_build_info gauge",
    ]
  ) assertStringIncludes(body, `# TYPE ${family}\n`);
  // Deno lets a process count its descriptors only with some permission sets
  // (not --allow-run without --allow-all): the family is there when it can.
  assertEquals(
    body.includes("\n# TYPE process_open_fds gauge\n"),
    processStats().open_fds !== null,
  );
  assertMatch(body, /\nmsghub_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1\n/);
  const rss = Number(/\nprocess_resident_memory_bytes (\d+)\n/.exec(body)?.[1]);
  assert(rss > 1_000_000, `rss ${rss}`);
  const start = Number(/\nprocess_start_time_seconds (\S+)\n/.exec(body)?.[1]);
  assert(Math.abs(start - Date.now() / 1000) < 3600, `start ${start}`);
  assertMatch(
    body,
    /\nmsghub_connections_closed_total\{reason="slow_consumer"\} 0\n/,
  );
  assertMatch(
    body,
    /\nmsghub_errors_total\{code="3",reason="slow_consumer"\} 0\n/,
  );
});

Deno.test("monitor: bound before a hub, it answers 503 until attached, and names a taken port", async () => {
  const log = new LogRecorder();
  await using monitor = listenMetrics({ port: 0, logger: log.logger });
  await log.next("metrics listening", {
    address: `127.0.0.1:${monitor.addr.port}`,
  });
  assertEquals((await get(monitor.addr.port, "/healthz")).status, 503);
  assertEquals((await get(monitor.addr.port, "/hubz")).status, 503);
  assertEquals((await get(monitor.addr.port, "/")).status, 200);
  await using hub = await serve({ port: 0 });
  monitor.attach(hub);
  assertEquals((await get(monitor.addr.port, "/healthz")).status, 200);
  assertEquals(
    (await getJson<Hubz>(monitor.addr.port, "/hubz")).connections.open,
    0,
  );
  let error: unknown;
  try {
    listenMetrics({ port: monitor.addr.port });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Deno.errors.AddrInUse, String(error));
  assertStringIncludes(
    (error as Error).message,
    `Cannot listen on "127.0.0.1:${monitor.addr.port}"`,
  );
});

Deno.test("monitor: WebSocket clients show as transport ws, beside TCP ones", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using monitor = await serveMetrics(hub, { port: 0 });
  const m = monitor.addr.port;
  await using tcp = await RawClient.connect(hub.addr.port);
  await tcp.send("identity\n");
  assertEquals(await tcp.line(), "identity 1");
  {
    await using ws = await WsClient.open(hub.wsAddr!.port);
    await ws.text("identity\n");
    assertEquals(await ws.line(), "identity 2\n");
    const hubz = await getJson<Hubz>(m, "/hubz");
    assertEquals(hubz.listening.map((l) => [l.transport, l.address]), [
      ["tcp", `127.0.0.1:${hub.addr.port}`],
      ["ws", `127.0.0.1:${hub.wsAddr!.port}`],
    ]);
    assertEquals(hubz.connections.by_transport, { tcp: 1, ws: 1 });
    const connz = await getJson<Connz>(m, "/connz");
    assertEquals(
      connz.connections.map((c) => [c.id, c.transport, c.dialect, c.msgs_in]),
      [[1, "tcp", "text", 1], [2, "ws", "text", 1]],
    );
    await ws.text("quit\n");
    assertEquals(await ws.closed(), 1000);
  }
  await waitFor(() => hub.stats.connections === 1, "the ws client to be gone");
  const after = await getJson<Connz>(m, "/connz");
  assertEquals(
    after.recent_closes.map((c) => [c.id, c.transport, c.reason]),
    [[2, "ws", "client_quit"]],
  );
});
