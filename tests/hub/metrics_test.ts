import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_assert.ts";
import { connect } from "../../client/mod.ts";
import {
  CloseReason,
  escapeLabelValue,
  EXPOSITION_CONTENT_TYPE,
  formatFamily,
  formatMetrics,
  type Hub,
  serve,
  serveMetrics,
} from "../../hub/mod.ts";
import { hubOptions } from "../../cli/hub/mod.ts";
import { UsageError } from "../../flags/mod.ts";
import { bytes, RawClient, waitFor } from "../_helpers.ts";
import { HubProcess, run } from "../_cli.ts";

/** A scrape: samples by `name{labels}` as written, and the families' types. */
interface Scrape {
  samples: Map<string, number>;
  types: Map<string, string>;
  helps: Set<string>;
  text: string;
}

function parseExposition(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const help = /^# HELP (\S+) .+$/.exec(line);
    if (help !== null) {
      helps.add(help[1]!);
      continue;
    }
    const sample = /^([a-z_]+)(\{.*\})? (\S+)$/.exec(line);
    assert(sample !== null, `Not a sample line: ${line}`);
    samples.set(sample[1]! + (sample[2] ?? ""), Number(sample[3]));
  }
  return { samples, types, helps, text };
}

async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), EXPOSITION_CONTENT_TYPE);
  return parseExposition(await response.text());
}

async function get(
  port: number,
  path: string,
  method = "GET",
): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: response.status, body: await response.text() };
}

/** Sends `frame`, expects ERROR `code`, then hangs up. */
async function provoke(hub: Hub, frame: Uint8Array, code: number) {
  await using raw = await RawClient.connect(hub.addr.port);
  await raw.send(frame);
  const error = await raw.frame();
  assertEquals([error.kind, error.payload[0]], [0xff, code]);
}

Deno.test("metrics: a scrape after real traffic counts relays, deliveries, closes and errors", async () => {
  await using hub = await serve({ port: 0 });
  await using metrics = await serveMetrics(hub, { port: 0 });
  const port = hub.addr.port;
  await using alice = await connect({ port });
  await using bob = await connect({ port });
  await using typist = await RawClient.connect(port);
  await typist.send("identity\n");
  assertEquals(await typist.line(), "identity 3");

  const receipt = await alice.relayWithReceipt([2n, 99n], "to bob");
  assertEquals(receipt, { delivered: 1, unknown: [99n] });
  await typist.send("relay 1,2 to both\n");
  assertEquals(await typist.line(), "relayed 2");
  await provoke(hub, bytes(0x1e, 0, 0, 0, 0), 1); // unknown binary kind
  await provoke(hub, bytes(0x02, 0, 0, 0, 1), 2); // IDENTITY with a payload
  {
    await using quitter = await RawClient.connect(port);
    await quitter.send("quit\n");
    assert(await quitter.closedByPeer());
  }
  const closed = () => hub.metrics().counters.closed;
  await waitFor(
    () =>
      closed()[CloseReason.Malformed] === 1 &&
      closed()[CloseReason.TooLarge] === 1 &&
      closed()[CloseReason.ClientQuit] === 1,
    "three closes",
  );

  const { samples, types, helps } = await scrape(metrics.addr.port);
  const expected: Record<string, number> = {
    "msghub_connections": 3,
    'msghub_registered_clients{dialect="binary"}': 2,
    'msghub_registered_clients{dialect="text"}': 1,
    "msghub_connections_accepted_total": 6,
    "msghub_relays_total": 2,
    "msghub_deliveries_total": 3,
    "msghub_unknown_receivers_total": 1,
    "msghub_slow_consumers_total": 0,
    "msghub_sender_stalls_total": 0,
    "msghub_receipts_total": 2,
    'msghub_connections_closed_total{reason="malformed_frame"}': 1,
    'msghub_connections_closed_total{reason="frame_too_large"}': 1,
    'msghub_connections_closed_total{reason="client_quit"}': 1,
    'msghub_connections_closed_total{reason="slow_consumer"}': 0,
    'msghub_errors_total{code="1",reason="malformed"}': 1,
    'msghub_errors_total{code="2",reason="too_large"}': 1,
    'msghub_errors_total{code="7",reason="unauthorized"}': 0,
  };
  for (const [key, value] of Object.entries(expected)) {
    assertEquals(samples.get(key), value, key);
  }
  for (
    const name of [
      "msghub_frames_received_total",
      "msghub_frames_sent_total",
      "msghub_received_bytes_total",
      "msghub_sent_bytes_total",
      "msghub_uptime_seconds",
    ]
  ) {
    assert((samples.get(name) ?? 0) > 0, `${name} > 0`);
  }
  assert(samples.has("msghub_queued_bytes"));
  for (const reason of Object.values(CloseReason)) {
    const name = reason.replaceAll(" ", "_");
    assert(
      samples.has(`msghub_connections_closed_total{reason="${name}"}`),
      name,
    );
  }
  // Every sample belongs to a family with HELP and TYPE; counters end in _total.
  for (const key of samples.keys()) {
    const name = key.replace(/\{.*$/, "");
    assert(helps.has(name), `HELP of ${name}`);
    assertEquals(
      types.get(name),
      name.endsWith("_total") ? "counter" : "gauge",
      name,
    );
  }
  await alice.close();
  await bob.close();
});

Deno.test("metrics: /healthz is ok while serving and 503 once shutdown begins", async () => {
  await using hub = await serve({ port: 0 });
  await using metrics = await serveMetrics(hub, { port: 0 });
  const port = metrics.addr.port;
  assertEquals(await get(port, "/healthz"), { status: 200, body: "ok" });
  assertEquals((await get(port, "/nope")).status, 404);
  assertEquals((await get(port, "/metrics", "POST")).status, 405);
  const stopping = hub.shutdown();
  assertEquals(await get(port, "/healthz"), {
    status: 503,
    body: "shutting down",
  });
  await stopping;
  // The endpoint outlives the hub until it is shut down itself.
  assertEquals((await scrape(port)).samples.get("msghub_connections"), 0);
});

Deno.test("exposition: label values and help text are escaped, values spelled as the format wants", () => {
  assertEquals(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assertEquals(
    formatFamily("x_total", "counter", 'Back\\slash "and"\nnewline.', [
      { labels: { l: 'a"b\\c\nd', m: "plain" }, value: 1 },
      { value: Infinity },
      { value: NaN },
    ]),
    '# HELP x_total Back\\\\slash "and"\\nnewline.\n' +
      "# TYPE x_total counter\n" +
      'x_total{l="a\\"b\\\\c\\nd",m="plain"} 1\n' +
      "x_total +Inf\n" +
      "x_total NaN\n",
  );
});

Deno.test("exposition: a fresh hub has nineteen families, each once", async () => {
  await using hub = await serve({ port: 0 });
  const text = formatMetrics(hub.metrics());
  const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  assertEquals(new Set(names).size, names.length, "no family twice");
  assertEquals(names.length, 19);
  assertStringIncludes(text, "\nmsghub_relays_total 0\n");
  assertStringIncludes(
    text,
    '\nmsghub_transport_connections{transport="ws"} 0\n',
  );
  assertStringIncludes(
    text,
    '\nmsghub_transport_connections_accepted_total{transport="tcp"} 0\n',
  );
  assertMatch(text, /^# HELP msghub_uptime_seconds /);
});

Deno.test("hub --metrics-port: scrape the CLI hub; stdout keeps its one line", async () => {
  const hub = await HubProcess.start(["--metrics-port", "0"], { logs: true });
  let metricsPort = 0;
  try {
    const line = await hub.log(
      (l) => l.includes("metrics listening"),
      "the metrics line",
    );
    assertMatch(
      line,
      /^\S+ INFO metrics listening address=127\.0\.0\.1:\d+$/,
    );
    metricsPort = Number(/:(\d+)$/.exec(line)![1]);
    await using client = await RawClient.connect(hub.port);
    await client.send("identity\n");
    assertEquals(await client.line(), "identity 1");
    const { samples } = await scrape(metricsPort);
    assertEquals(samples.get('msghub_registered_clients{dialect="text"}'), 1);
    assertEquals(await get(metricsPort, "/healthz"), {
      status: 200,
      body: "ok",
    });
  } finally {
    assertEquals(await hub.stop(), 0);
  }
  const rest = await hub.lines.read().catch(() => ({ done: true }));
  assert(rest.done, "nothing on stdout but the listening line");
  await assertRejects(() => fetch(`http://127.0.0.1:${metricsPort}/healthz`));
});

Deno.test("hub --metrics-port: flags, and a port that is taken", async () => {
  assertEquals((await hubOptions([])).metrics, null);
  assertEquals((await hubOptions(["--metrics-port", "9464"])).metrics, {
    hostname: "127.0.0.1",
    port: 9464,
  });
  assertEquals(
    (await hubOptions(["--metrics-port=0", "--metrics-host", "::1"])).metrics,
    { hostname: "::1", port: 0 },
  );
  await assertRejects(
    () => hubOptions(["--metrics-host", "127.0.0.1"]),
    UsageError,
    "--metrics-port",
  );
  await assertRejects(
    () => hubOptions(["--metrics-port", "http"]),
    UsageError,
  );
  await using taken = await serve({ port: 0 });
  const clash = await run([
    "hub",
    "--port",
    "0",
    "--metrics-port",
    String(taken.addr.port),
  ]);
  assertEquals(clash.code, 1);
  assertStringIncludes(clash.stderr, "cannot start the metrics endpoint");
  assertStringIncludes(clash.stderr, `"127.0.0.1:${taken.addr.port}"`);
});

Deno.test("serveMetrics: a port that is taken rejects", async () => {
  await using hub = await serve({ port: 0 });
  await using first = await serveMetrics(hub, { port: 0 });
  await assertRejects(
    () => serveMetrics(hub, { port: first.addr.port }),
    Deno.errors.AddrInUse,
  );
});
