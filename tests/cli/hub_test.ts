import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_assert.ts";
import {
  encodeFrame,
  encodeRelay,
  ErrorCode,
  Kind,
} from "../../protocol/mod.ts";
import { hubOptions } from "../../cli/hub/mod.ts";
import { UsageError } from "../../flags/mod.ts";
import { RawClient, u64 } from "../_helpers.ts";
import { HubProcess, run } from "../_cli.ts";

Deno.test("hub prints one listening line with the real port, and exits 0 on SIGTERM", async () => {
  const hub = await HubProcess.start();
  assertMatch(hub.first, /^msghub hub listening on 127\.0\.0\.1:\d+$/);
  assert(hub.port > 0);
  await using client = await RawClient.connect(hub.port);
  await client.send("identity\n");
  assertEquals(await client.line(), "identity 1");
  assertEquals(await hub.stop(), 0);
  assertEquals(await client.line(), "error hub shutting down");
  const rest = await hub.lines.read().catch(() => ({ done: true }));
  assert(rest.done, "nothing else on stdout");
});

Deno.test("SIGTERM with messages in flight: whole frames, then ERROR 6, exit 0", async () => {
  const hub = await HubProcess.start();
  await using receiver = await RawClient.connect(hub.port);
  await using sender = await RawClient.connect(hub.port);
  await receiver.send(encodeFrame(Kind.Identity));
  const receiverId = u64((await receiver.frame()).payload);
  const body = new Uint8Array(200_000).fill(9);
  for (let i = 0; i < 20; i++) {
    await sender.send(encodeRelay([receiverId], body));
  }
  await sender.send(encodeFrame(Kind.Ping));
  assertEquals((await sender.frame()).kind, Kind.Pong);
  const stopping = hub.stop();
  let delivered = 0;
  while (true) {
    const frame = await receiver.frame();
    if (frame.kind !== Kind.Deliver) {
      assertEquals(frame.kind, Kind.Error);
      assertEquals(frame.payload[0], ErrorCode.ShuttingDown);
      break;
    }
    assertEquals(frame.payload.length, 8 + body.length);
    delivered++;
  }
  assertEquals(
    delivered,
    20,
    "every queued message was flushed before the error",
  );
  const error = await sender.frame();
  assertEquals(error.kind, Kind.Error);
  assertEquals(error.payload[0], ErrorCode.ShuttingDown);
  assertEquals(await stopping, 0);
});

Deno.test("a hub with a token refuses everything before auth", async () => {
  await using hub = await HubProcess.start([], {
    env: { MSGHUB_TOKEN: "s3cret" },
  });
  await using stranger = await RawClient.connect(hub.port);
  await stranger.send("list\n");
  assertEquals(await stranger.line(), "error unauthorized");
  await using wrong = await RawClient.connect(hub.port);
  await wrong.send(encodeFrame(Kind.Auth, new TextEncoder().encode("guess")));
  const refused = await wrong.frame();
  assertEquals(refused.kind, Kind.Error);
  assertEquals(refused.payload[0], ErrorCode.Unauthorized);
  await using friend = await RawClient.connect(hub.port);
  await friend.send("auth s3cret\nidentity\n");
  assertEquals(await friend.line(), "auth ok");
  assertEquals(await friend.line(), "identity 3");
  await using other = await RawClient.connect(hub.port);
  await other.send(encodeFrame(Kind.Auth, new TextEncoder().encode("s3cret")));
  assertEquals((await other.frame()).kind, Kind.AuthOk);
  await friend.send("list\n");
  assertEquals(
    await friend.line(),
    "list 4",
    "unauthenticated clients are not listed",
  );
});

Deno.test("hub --help, usage errors and a refused public address", async () => {
  const help = await run(["hub", "--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.stdout, "Usage: msghub hub");
  for (
    const args of [["--bogus"], ["--port", "99999"], [
      "--write-timeout",
      "soon",
    ], ["extra"]]
  ) {
    const bad = await run(["hub", ...args]);
    assertEquals(bad.code, 2, args.join(" "));
    // One line and where the help is, not the whole usage text.
    assertEquals(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
    assertStringIncludes(bad.stderr, "; run msghub hub --help");
  }
  // A value out of its range is a usage error too, worded as the table words it.
  for (
    const [args, message] of [
      [
        ["--write-timeout", "0"],
        'invalid option "--write-timeout": "0" is not a duration from 1ms to 1h',
      ],
      [
        ["--max-pending", "1KiB"],
        'invalid option "--max-pending": "1KiB" is not a size from 1048589 to 1024GiB',
      ],
      [
        ["--max-clients", "abc"],
        'invalid option "--max-clients": "abc" is not an integer from 1 to 1000000',
      ],
    ] as const
  ) {
    const bad = await run(["hub", ...args]);
    assertEquals(bad.code, 2, args.join(" "));
    assertStringIncludes(
      bad.stderr,
      `msghub hub: ${message}; run msghub hub --help\n`,
    );
  }
  const open = await run(["hub", "--host", "0.0.0.0", "--port", "0"]);
  assertEquals(open.code, 2);
  assertStringIncludes(open.stderr, "without a token");
  const taken = await HubProcess.start();
  try {
    const clash = await run(["hub", "--port", String(taken.port)]);
    assertEquals(clash.code, 1);
    assertStringIncludes(clash.stderr, "cannot start");
  } finally {
    await taken.stop();
  }
});

Deno.test("msghub: --version, --help, and unknown or missing commands", async () => {
  const version = await run(["--version"]);
  assertEquals(version.code, 0);
  assertMatch(
    version.stdout,
    /^msghub \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+\)\n$/,
  );
  assertEquals((await run(["--help"])).code, 0);
  const missing = await run([]);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "missing command");
  const unknown = await run(["frob"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, 'unknown command "frob"');
});

Deno.test("hub options: durations, sizes and the token file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "  tok3n \n");
    const options = await hubOptions([
      "--write-timeout=2s",
      "--handshake-timeout",
      "750ms",
      "--ping-interval",
      "1.5m",
      "--drain-timeout",
      "100",
      "--max-pending",
      "16MiB",
      "--max-clients",
      "5",
      "--token-file",
      `${dir}/token`,
      "--host",
      "0.0.0.0",
      "--log-level",
      "warn",
    ]);
    assertEquals(options.writeTimeout, 2000);
    assertEquals(options.handshakeTimeout, 750);
    assertEquals(options.pingInterval, 90_000);
    assertEquals(options.drainTimeout, 100);
    assertEquals(options.maxPending, 16 * 1024 * 1024);
    assertEquals(options.maxClients, 5);
    assertEquals(options.token, "tok3n");
    assertEquals(options.hostname, "0.0.0.0");
    assertEquals((await hubOptions(["-h"])).help, true);
    await assertRejects(
      () => hubOptions(["--max-pending", "lots"]),
      UsageError,
    );
    await assertRejects(() => hubOptions(["--log-level", "loud"]), UsageError);
    await assertRejects(
      () => hubOptions(["--token-file", `${dir}/missing`]),
      UsageError,
    );
    await assertRejects(() => hubOptions(["--port"]), UsageError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
