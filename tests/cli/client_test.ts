import { connect } from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import { text } from "../_helpers.ts";
import {
  assert,
  assertEquals,
  assertStringIncludes,
} from "../_client_helpers.ts";
import { nextMessage, run, Running } from "./_client_helpers.ts";

Deno.test("client identity prints the id", async () => {
  await using hub = await serve({ port: 0 });
  await using other = await connect({ port: hub.addr.port });
  const before = await other.identity();
  const out = await run(["--port", `${hub.addr.port}`, "identity"]);
  assertEquals(out.stderr, "");
  assertEquals(out.code, 0);
  const id = BigInt(text(out.stdout).trim());
  assert(id > before, `${id} follows ${before}`);
  assertEquals(text(out.stdout), `${id}\n`);
});

Deno.test("client list prints one id per line, nothing when alone", async () => {
  await using hub = await serve({ port: 0 });
  const port = `${hub.addr.port}`;
  const alone = await run(["list", "--port", port]);
  assertEquals([alone.code, text(alone.stdout), alone.stderr], [0, "", ""]);
  await using a = await connect({ port: hub.addr.port });
  await using b = await connect({ port: hub.addr.port });
  const out = await run(["list", "--port", port]);
  assertEquals(out.code, 0);
  assertEquals(
    text(out.stdout),
    `${await a.identity()}\n${await b.identity()}\n`,
  );
});

Deno.test("client echo prints the text back, arguments kept verbatim", async () => {
  await using hub = await serve({ port: 0 });
  const port = `${hub.addr.port}`;
  const out = await run(["--port", port, "echo", "hi", "there"]);
  assertEquals([out.code, text(out.stdout), out.stderr], [0, "hi there\n", ""]);
  const dashes = await run(["--port", port, "echo", "--", "-n", "007", "1e3"]);
  assertEquals(text(dashes.stdout), "-n 007 1e3\n");
});

Deno.test("client relay IDS sends stdin as raw bytes", async () => {
  await using hub = await serve({ port: 0 });
  await using receiver = await connect({ port: hub.addr.port });
  const to = await receiver.identity();
  const body = new Uint8Array(70_000).map((_, i) => (i * 13) & 0xff);
  const out = await run(["--port", `${hub.addr.port}`, "relay", `${to}`], body);
  assertEquals([out.code, text(out.stdout), out.stderr], [
    0,
    "relayed 1\n",
    "",
  ]);
  const message = await nextMessage(receiver.messages());
  assertEquals(message.body, body);
  assert(message.sender !== to);
});

Deno.test("client relay with text, and exit 1 when nobody got it", async () => {
  await using hub = await serve({ port: 0 });
  await using receiver = await connect({ port: hub.addr.port });
  const to = await receiver.identity();
  const port = `${hub.addr.port}`;
  const out = await run(["--port", port, "relay", `${to},99`, "hello", "you"]);
  assertEquals(out.code, 0);
  assertEquals(text(out.stdout), "relayed 1 unknown 99\n");
  assertEquals(
    text((await nextMessage(receiver.messages())).body),
    "hello you",
  );
  const none = await run(["--port", port, "relay", "98,99", "x"]);
  assertEquals([none.code, text(none.stdout)], [
    1,
    "relayed 0 unknown 98,99\n",
  ]);
});

Deno.test("client listen --count 2 prints its id, then two messages", async () => {
  await using hub = await serve({ port: 0 });
  await using sender = await connect({ port: hub.addr.port });
  const from = await sender.identity();
  await using listener = new Running([
    "listen",
    "--count",
    "2",
    "--port",
    `${hub.addr.port}`,
  ]);
  const head = await listener.line();
  const match = /^id (\d+)$/.exec(head);
  assert(match !== null, `first line: ${head}`);
  const to = BigInt(match[1]!);
  await sender.relay([to], "first");
  await sender.relay([to], "second\nline");
  await sender.relay([to], "third is never printed");
  assertEquals(await listener.line(), `message from ${from}: first`);
  const end = await listener.finish();
  assertEquals(end.rest, [`message from ${from}: second`, "line"]);
  assertEquals([end.code, end.stderr], [0, ""]);
});

Deno.test("a piped session answers in order and exits 0 at quit", async () => {
  await using hub = await serve({ port: 0 });
  await using other = await connect({ port: hub.addr.port });
  const otherId = await other.identity();
  const out = await run(
    ["--port", `${hub.addr.port}`],
    "identity\nlist\necho hi\nbogus\nrelay 99 x\nquit\necho never\n",
  );
  const lines = text(out.stdout).split("\n");
  assert(/^identity \d+$/.test(lines[0]!), lines[0]);
  assertEquals(lines.slice(1), [
    `list ${otherId}`,
    "echo hi",
    "relayed 0 unknown 99",
    "",
  ]);
  assertEquals(out.code, 0);
  assertEquals(out.stderr, 'msghub: unknown command: "bogus" (try help)\n');
});

Deno.test("a session prints messages as they arrive and exits 0 at EOF", async () => {
  await using hub = await serve({ port: 0 });
  await using sender = await connect({ port: hub.addr.port });
  const from = await sender.identity();
  await using session = new Running(["--port", `${hub.addr.port}`]);
  await session.write("identity\n");
  const match = /^identity (\d+)$/.exec(await session.line());
  assert(match !== null);
  await sender.relay([BigInt(match[1]!)], "hello there");
  assertEquals(await session.line(), `message from ${from}: hello there`);
  await sender.relay([BigInt(match[1]!)], new Uint8Array([0xff, 0xfe, 0]));
  assertEquals(await session.line(), `message from ${from}: <3 bytes, binary>`);
  await session.write(`relay ${from} back at you\n`);
  assertEquals(await session.line(), "relayed 1");
  assertEquals(
    text((await nextMessage(sender.messages())).body),
    "back at you",
  );
  const end = await session.finish();
  assertEquals([end.rest, end.code, end.stderr], [[], 0, ""]);
});

Deno.test("--help at every level prints usage and exits 0", async () => {
  for (
    const args of [["--help"], ["-h"], ["relay", "--help"], ["listen", "-h"], [
      "help",
      "echo",
    ]]
  ) {
    const out = await run(args);
    assertEquals(out.code, 0, args.join(" "));
    assertStringIncludes(text(out.stdout), "Usage: msghub client");
    assertEquals(out.stderr, "");
  }
  const relay = await run(["relay", "--help"]);
  assertStringIncludes(text(relay.stdout), "relay IDS [TEXT...]");
});

Deno.test("usage errors exit 2 with one line: the problem and where the help is", async () => {
  const cases: Array<[string[], string, string]> = [
    [["relay"], "missing IDS", "relay"],
    [["relay", "2,x", "hi"], "bad ids", "relay"],
    [["frobnicate"], 'unknown command: "frobnicate"', ""],
    [["constructor"], 'unknown command: "constructor"', ""],
    [["--port", "nope", "identity"], "invalid --port", "identity"],
    [["--bogus", "identity"], 'unknown option: "--bogus"', "identity"],
    [["identity", "extra"], 'unexpected argument: "extra"', "identity"],
    [
      ["echo", "--count", "2", "x"],
      "option --count applies to listen and ping only",
      "echo",
    ],
    [["listen", "--count", "0"], "invalid --count", "listen"],
    [["help", "bogus"], 'unknown command: "bogus"', ""],
  ];
  for (const [args, problem, command] of cases) {
    const out = await run(args);
    assertEquals(out.code, 2, args.join(" "));
    const help = command === "" ? "msghub client" : `msghub client ${command}`;
    assert(
      out.stderr.startsWith(`msghub client: ${problem}`),
      `${args.join(" ")}: ${out.stderr}`,
    );
    assert(
      out.stderr.endsWith(`; run ${help} --help\n`),
      `${args.join(" ")}: ${out.stderr}`,
    );
    assertEquals(out.stderr.split("\n").length, 2, "one line");
    assertEquals(text(out.stdout), "");
  }
  assertEquals(
    (await run(["--bogus"])).stderr,
    'msghub client: unknown option: "--bogus"; run msghub client --help\n',
  );
});

Deno.test("an unreachable hub is one line on stderr and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const out = await run(["--port", `${port}`, "identity"]);
  assertEquals(out.code, 1);
  assertEquals(
    out.stderr,
    `msghub: cannot connect to 127.0.0.1:${port}: connection refused\n`,
  );
  assertEquals(text(out.stdout), "");
});

Deno.test("a token from --token-file or MSGHUB_TOKEN authenticates", async () => {
  await using hub = await serve({ port: 0, token: "s3cret" });
  const port = `${hub.addr.port}`;
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "s3cret\n");
    const fromFile = await run([
      "--port",
      port,
      "--token-file",
      file,
      "echo",
      "ok",
    ]);
    assertEquals([fromFile.code, text(fromFile.stdout)], [0, "ok\n"]);
  } finally {
    await Deno.remove(file);
  }
  const fromEnv = await run(["--port", port, "echo", "ok"], undefined, {
    MSGHUB_TOKEN: "s3cret",
  });
  assertEquals([fromEnv.code, text(fromEnv.stdout)], [0, "ok\n"]);
  const without = await run(["--port", port, "echo", "ok"], undefined, {
    MSGHUB_TOKEN: "",
  });
  assertEquals(without.code, 1);
  assertEquals(without.stderr, "msghub: hub error 7: unauthorized\n");
});

Deno.test("a hub shutting down ends a session and a listen with exit 1", async () => {
  const hub = await serve({ port: 0 });
  try {
    const port = `${hub.addr.port}`;
    await using session = new Running(["--port", port]);
    await using listener = new Running(["--port", port, "listen"]);
    await session.write("echo up\n");
    assertEquals(await session.line(), "echo up");
    assert((await listener.line()).startsWith("id "));
    await hub.shutdown();
    for (const child of [session, listener]) {
      const end = await child.finish();
      assertEquals(end.code, 1);
      assertEquals(end.stderr, "msghub: hub error 6: hub shutting down\n");
    }
  } finally {
    await hub.shutdown();
  }
});
