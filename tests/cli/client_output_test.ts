/**
 * `msghub client` output for programs: `--json`, `listen --out` and
 * `relay --file`, run as subprocesses against a hub in this process.
 */
import { connect } from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import {
  PROGRESS_THRESHOLD,
  relayWithProgress,
} from "../../cli/client/_relay.ts";
import { text } from "../_helpers.ts";
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { nextMessage, run, Running } from "./_client_helpers.ts";

/** A JSON line of listen's output, as an object of strings and numbers. */
function parseLine(line: string): Record<string, string | number> {
  const value: unknown = JSON.parse(line);
  assert(typeof value === "object" && value !== null, line);
  return value as Record<string, string | number>;
}

/** The id of a listener from its first line, `{"id":"5"}` or `id 5`. */
function idOf(line: string): bigint {
  const match = /^(?:\{"id":"(\d+)"\}|id (\d+))$/.exec(line);
  assert(match !== null, `first line: ${line}`);
  return BigInt(match[1] ?? match[2]!);
}

Deno.test("client list --json prints one JSON array of ids as strings", async () => {
  await using hub = await serve({ port: 0 });
  const port = `${hub.addr.port}`;
  const alone = await run(["list", "--json", "--port", port]);
  assertEquals([alone.code, text(alone.stdout), alone.stderr], [0, "[]\n", ""]);
  await using a = await connect({ port: hub.addr.port });
  await using b = await connect({ port: hub.addr.port });
  const out = await run(["--json", "list", "--port", port]);
  assertEquals(out.code, 0);
  assertEquals(
    text(out.stdout),
    `["${await a.identity()}","${await b.identity()}"]\n`,
  );
});

Deno.test("client listen --json gives text as utf8 and other bytes as base64", async () => {
  await using hub = await serve({ port: 0 });
  await using sender = await connect({ port: hub.addr.port });
  const from = `${await sender.identity()}`;
  await using listener = new Running([
    "listen",
    "--json",
    "--count",
    "2",
    "--port",
    `${hub.addr.port}`,
  ]);
  const to = idOf(await listener.line());
  const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x0a, 0xc3]);
  await sender.relay([to], binary);
  await sender.relay([to], 'héllo\n"world"');
  const first = parseLine(await listener.line());
  assertEquals(first, {
    sender: from,
    body: binary.toBase64(),
    encoding: "base64",
  });
  assertEquals(Uint8Array.fromBase64(String(first.body)), binary);
  const end = await listener.finish();
  assertEquals(end.rest.map(parseLine), [{
    sender: from,
    body: 'héllo\n"world"',
    encoding: "utf8",
  }]);
  assertEquals([end.code, end.stderr], [0, ""]);
});

Deno.test("client listen --out saves each body to a file named in arrival order", async () => {
  await using hub = await serve({ port: 0 });
  await using sender = await connect({ port: hub.addr.port });
  const from = await sender.identity();
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/received`;
    const port = `${hub.addr.port}`;
    await using listener = new Running([
      "listen",
      "--out",
      dir,
      "--count",
      "2",
      "--port",
      port,
    ]);
    const to = idOf(await listener.line());
    const big = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    await sender.relay([to], big);
    await sender.relay([to], "");
    const names = [`000001-from-${from}.bin`, `000002-from-${from}.bin`];
    const end = await listener.finish();
    assertEquals([end.code, end.stderr], [0, ""]);
    assertEquals(end.rest, [
      `message from ${from}: 70000 bytes in ${dir}/${names[0]}`,
      `message from ${from}: 0 bytes in ${dir}/${names[1]}`,
    ]);
    assertEquals(await Deno.readFile(`${dir}/${names[0]}`), big);
    assertEquals((await Deno.readFile(`${dir}/${names[1]}`)).length, 0);

    // A second listener numbers on after the files already there.
    await using again = new Running([
      "listen",
      "--out",
      `${dir}/`,
      "--json",
      "--count",
      "1",
      "--port",
      port,
    ]);
    await sender.relay([idOf(await again.line())], "third");
    const name = `000003-from-${from}.bin`;
    const last = await again.finish();
    assertEquals(last.rest.map(parseLine), [
      { sender: `${from}`, file: `${dir}/${name}`, bytes: 5 },
    ]);
    assertEquals(await Deno.readTextFile(`${dir}/${name}`), "third");
    const listed: string[] = [];
    for await (const entry of Deno.readDir(dir)) listed.push(entry.name);
    assertEquals(listed.sort(), [...names, name]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("client relay --file sends the file's bytes, no progress when piped", async () => {
  await using hub = await serve({ port: 0 });
  await using receiver = await connect({ port: hub.addr.port });
  const to = await receiver.identity();
  const port = `${hub.addr.port}`;
  const file = await Deno.makeTempFile();
  try {
    // Over the 256 KiB at which a terminal would show progress.
    const body = new Uint8Array(600_000).map((_, i) => (i * 31) & 0xff);
    await Deno.writeFile(file, body);
    const out = await run(["relay", `${to}`, "--file", file, "--port", port]);
    assertEquals([out.code, text(out.stdout), out.stderr], [
      0,
      "relayed 1\n",
      "",
    ]);
    const message = await nextMessage(receiver.messages());
    assertEquals(message.body, body);

    await Deno.writeFile(file, new Uint8Array(1_048_577));
    const large = await run(["relay", `${to}`, "--file", file, "--port", port]);
    assertEquals(large.code, 1);
    assertEquals(
      large.stderr,
      "msghub: cannot relay: body of 1048577 bytes exceeds 1048576\n",
    );
  } finally {
    await Deno.remove(file);
  }
  const missing = await run(["relay", `${to}`, "--file", file, "--port", port]);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, `msghub: cannot read --file "${file}"`);
});

Deno.test("command options on the wrong command are usage errors", async () => {
  const cases: Array<[string[], string]> = [
    [["--json"], "--json applies to the commands, not to a session"],
    [["ping", "--out", "d"], "--out applies to listen only"],
    [["list", "--out", "d"], "--out applies to listen only"],
    [["listen", "--file", "f"], "--file applies to relay only"],
    [["relay", "2", "text", "--file", "f"], "--file excludes TEXT"],
    [["listen", "--out", ""], "--out needs a value"],
  ];
  for (const [args, problem] of cases) {
    const out = await run(args);
    assertEquals(out.code, 2, args.join(" "));
    assertStringIncludes(out.stderr, problem);
    assertEquals(text(out.stdout), "");
  }
});

Deno.test("relay progress goes to a terminal only, for large bodies only", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await connect({ port: hub.addr.port });
  const to = await client.identity();
  const written: string[] = [];
  const stderr = (terminal: boolean) => ({
    write(p: Uint8Array) {
      written.push(new TextDecoder().decode(p));
      return Promise.resolve(p.length);
    },
    isTerminal: () => terminal,
  });
  const large = new Uint8Array(PROGRESS_THRESHOLD);
  await relayWithProgress(client, [to], large, stderr(false));
  await relayWithProgress(client, [to], new Uint8Array(10), stderr(true));
  assertEquals(written, []);
  const receipt = await relayWithProgress(client, [to], large, stderr(true));
  assertEquals(receipt, { delivered: 1, unknown: [] });
  assertEquals(written.at(-1), "\rsent 262,144 / 262,144 bytes (100%)\x1b[K\n");
  assert(written.every((line) => /^\rsent [\d,]+ \/ 262,144 bytes/.test(line)));
  const lengths: number[] = [];
  for await (const message of client) {
    lengths.push(message.body.length);
    if (lengths.length === 3) break;
  }
  assertEquals(lengths, [PROGRESS_THRESHOLD, 10, PROGRESS_THRESHOLD]);
});
