/**
 * The hub's messages through its real process: close lines name the peer,
 * a taken port is named, and a taken monitoring port stops the hub before
 * it says it listens.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_assert.ts";
import { bytes, RawClient } from "../_helpers.ts";
import { HubProcess, run } from "../_cli.ts";

Deno.test("hub CLI: a close line at the default level names the remote address", async () => {
  await using hub = await HubProcess.start([], { logs: true });
  let local = "";
  {
    await using raw = await RawClient.connect(hub.port);
    const addr = raw.conn.localAddr as Deno.NetAddr;
    local = `${addr.hostname}:${addr.port}`;
    await raw.send(bytes(0x1e, 0, 0, 0, 0)); // an unknown kind: ERROR 1
    assertEquals((await raw.frame()).kind, 0xff);
  }
  const line = await hub.log((l) => l.includes(" close "), "the close line");
  assertMatch(line, /^\S+ INFO close id=1 remote=\S+ reason="malformed frame"/);
  assertStringIncludes(line, `remote=${local}`);
});

Deno.test("hub CLI: a port in use is named in the error", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const out = await run(["hub", "--port", String(taken.addr.port)]);
  assertEquals(out.code, 1);
  assertEquals(out.stdout, "");
  assertStringIncludes(
    out.stderr,
    `msghub hub: cannot start: Cannot listen on "127.0.0.1:${taken.addr.port}"`,
  );
  assertStringIncludes(out.stderr, "already in use");
});

Deno.test("hub CLI: a taken monitoring port stops the hub cleanly, before it listens", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const out = await run([
    "hub",
    "--port",
    "0",
    "--metrics-port",
    String(taken.addr.port),
  ]);
  assertEquals(out.code, 1);
  assertEquals(out.stdout, "", "no listening line");
  assert(!out.stderr.includes("INFO listening"), out.stderr);
  assertStringIncludes(
    out.stderr,
    `msghub hub: cannot start the metrics endpoint: Cannot listen on "127.0.0.1:${taken.addr.port}"`,
  );
});
