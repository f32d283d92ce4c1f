/**
 * `msghub client` picks its hub: `--url`, `--host`/`-p`/`--port`, or
 * `MSGHUB_URL`, and gives up after `--connect-timeout` naming the hub.
 * Through the real CLI process, against hubs in this process.
 */
import { serve } from "../../hub/mod.ts";
import { text } from "../_helpers.ts";
import { assert, assertEquals } from "../_assert.ts";
import { run } from "./_client_helpers.ts";

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("--url, -p and MSGHUB_URL name the hub; flags win over MSGHUB_URL", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  const closed = closedPort();
  const nowhere = { MSGHUB_URL: `msghub://127.0.0.1:${closed}` };
  const cases: Array<[string[], Record<string, string>]> = [
    [["--url", `msghub://127.0.0.1:${port}`], {}],
    [["--url", `msghub://localhost:${port}`], nowhere],
    [["-p", `${port}`], {}],
    [["-p", `${port}`], nowhere],
    [["--port", `${port}`, "--host", "127.0.0.1"], nowhere],
    [[], { MSGHUB_URL: `msghub://127.0.0.1:${port}` }],
  ];
  for (const [args, env] of cases) {
    const out = await run([...args, "echo", "found"], undefined, env);
    const what = `${args.join(" ")} ${JSON.stringify(env)}`;
    assertEquals([out.code, text(out.stdout), out.stderr], [
      0,
      "found\n",
      "",
    ], what);
  }
  // MSGHUB_URL is used when no flag names a hub: this one is closed.
  const fromEnv = await run(["identity"], undefined, nowhere);
  assertEquals([fromEnv.code, fromEnv.stderr], [
    1,
    `msghub: cannot connect to 127.0.0.1:${closed}: connection refused\n`,
  ]);
});

Deno.test("hub flags that contradict each other are usage errors, before any connection", async () => {
  const url = "msghub://127.0.0.1:1";
  const cases: Array<[string[], Record<string, string>, string]> = [
    [
      ["--url", url, "--port", "2"],
      {},
      "option --url excludes --host and --port",
    ],
    [
      ["--url", url, "--host", "h"],
      {},
      "option --url excludes --host and --port",
    ],
    [
      ["--url", url, "--tls"],
      {},
      "option --tls excludes --url: use a msghubs: or wss: URL",
    ],
    [["--url="], {}, "option --url needs a value"],
    [
      ["--url", "http://x"],
      {},
      'cannot parse hub URL "http://x": scheme "http:" is not one of msghub:, msghubs:, ws:, wss:',
    ],
    [
      ["--url", "ws://127.0.0.1:1/", "--ca-cert", "ca.pem"],
      {},
      'option --ca-cert needs --tls or a msghubs: URL, not "ws://127.0.0.1:1/"',
    ],
    [
      ["--ca-cert", "ca.pem"],
      {},
      "option --ca-cert needs --tls or a msghubs: URL",
    ],
    [
      [],
      { MSGHUB_URL: "nope" },
      'invalid MSGHUB_URL: cannot parse hub URL "nope": not a URL such as "msghub://host:port"',
    ],
    [
      ["--connect-timeout", "soon"],
      {},
      'invalid --connect-timeout: "soon", expected a duration such as 500ms, 10s or 2m',
    ],
  ];
  for (const [args, env, problem] of cases) {
    const out = await run([...args, "list"], undefined, env);
    assertEquals(
      [out.code, out.stderr, text(out.stdout)],
      [2, `msghub client: ${problem}; run msghub client list --help\n`, ""],
      args.join(" "),
    );
  }
});

Deno.test("--connect-timeout gives up on a hub that never answers, naming it", async () => {
  // Accepts connections, then says nothing: TCP connects, registration
  // (or the WebSocket upgrade) never completes.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = silent.addr.port;
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silent) accepted.push(conn);
    } catch {
      // The listener closed.
    }
  })();
  try {
    const tcp = await run([
      "-p",
      `${port}`,
      "--connect-timeout",
      "300ms",
      "identity",
    ]);
    assertEquals([tcp.code, tcp.stderr, text(tcp.stdout)], [
      1,
      `msghub: cannot connect to 127.0.0.1:${port}: no answer within 300ms (--connect-timeout)\n`,
      "",
    ]);
    const ws = await run([
      "--url",
      `ws://127.0.0.1:${port}/hub`,
      "--connect-timeout",
      "1s",
      "ping",
    ]);
    assertEquals([ws.code, ws.stderr], [
      1,
      `msghub: cannot connect to ws://127.0.0.1:${port}/hub: no answer within 1s (--connect-timeout)\n`,
    ]);
    assert(accepted.length >= 2, "both reached the silent listener");
  } finally {
    silent.close();
    await accepting;
    for (const conn of accepted) conn.close();
  }
});
