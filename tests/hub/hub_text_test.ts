import { assert, assertEquals, assertMatch } from "../_assert.ts";
import {
  encodeFrame,
  encodeRelay,
  Kind,
  MAX_BODY,
  MAX_LINE,
} from "../../protocol/mod.ts";
import { serve } from "../../hub/mod.ts";
import { RawClient, text, u64 } from "../_helpers.ts";

/** A text client, as `nc` would be: it sends its first line to register. */
async function textClient(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  await client.send("identity\n");
  assertMatch(await client.line(), /^identity \d+$/);
  return client;
}

Deno.test("text: identity, list, echo, help, case and \\r\\n", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await textClient(hub.addr.port);
  await using b = await RawClient.connect(hub.addr.port);
  await b.send("IDENTITY\r\n");
  assertEquals(await b.line(), "identity 2");
  await a.send("list\n\nLiSt\r\n");
  assertEquals(await a.line(), "list 2");
  assertEquals(await a.line(), "list 2");
  await b.send("list\n");
  assertEquals(await b.line(), "list 1");
  await a.send("echo hello world\necho\r\n");
  assertEquals(await a.line(), "echo hello world");
  assertEquals(await a.line(), "echo");
  await a.send("help\n");
  assertMatch(await a.line(), /^commands: identity \| list \| echo/);
});

Deno.test("text: one-line relay, with receipts and unknown ids", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await textClient(hub.addr.port);
  await using b = await textClient(hub.addr.port);
  await a.send("relay 2,9,2,8 foo bar\n");
  assertEquals(await a.line(), "relayed 1 unknown 9,8");
  assertEquals(await b.line(), "message 1 7");
  assertEquals(await b.line(), "foo bar");
  await a.send("relay 7,8 nobody\n");
  assertEquals(await a.line(), "relayed 0 unknown 7,8");
  await a.send("relay 1 me\n");
  assertEquals(await a.line(), "message 1 2");
  assertEquals(await a.line(), "me");
  assertEquals(await a.line(), "relayed 1");
});

Deno.test("text: multi-line relay, its body kept whole and `quit` inside it", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await textClient(hub.addr.port);
  await using b = await textClient(hub.addr.port);
  await a.send("relay\r\n2,3\r\nfoo bar\r\numad?\nquit\n\n");
  assertEquals(await a.line(), "relayed 1 unknown 3");
  assertEquals(await b.line(), "message 1 18");
  assertEquals(text(await b.bytes(19)), "foo bar\numad?\nquit\n");
  // A bad id line ends the relay with an error; the connection goes on.
  await a.send("relay\nnot-ids\nlist\n");
  assertMatch(await a.line(), /^error bad ids/);
  assertEquals(await a.line(), "list 2");
});

Deno.test("text: errors that are not fatal keep the connection", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await textClient(hub.addr.port);
  const bad = [
    "frobnicate\n",
    "relay 1,,2 x\n",
    "relay a x\n",
    "relay 18446744073709551616 x\n",
    `relay ${Array.from({ length: 256 }, (_, i) => i + 1).join(",")} x\n`,
    "identity please\n",
  ];
  for (const line of bad) {
    await a.send(line);
    assertMatch(await a.line(), /^error /, line);
  }
  // A body over 1 MiB, in both forms.
  await a.send(`relay 1 ${"x".repeat(MAX_BODY + 1)}\n`);
  assertMatch(await a.line(), /^error body too large/);
  const half = "y".repeat(MAX_BODY / 2);
  await a.send(`relay\n1\n${half}\n${half}\n\n`);
  assertMatch(await a.line(), /^error body too large/);
  await a.send("identity\n");
  assertEquals(await a.line(), "identity 1");
});

Deno.test("text: a line too long is fatal", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await RawClient.connect(hub.addr.port);
  await a.send("echo ");
  // Past the limit without a line end: the hub must not wait for the `\n`.
  await a.send("z".repeat(MAX_LINE));
  assertEquals(await a.line(), "error line too long");
  assert(await a.closedByPeer());
});

Deno.test("text: quit closes the connection after the replies before it", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await RawClient.connect(hub.addr.port);
  await a.send("identity\nquit\nidentity\n");
  assertEquals(await a.line(), "identity 1");
  assert(await a.closedByPeer());
});

Deno.test("text and binary clients relay to each other", async () => {
  await using hub = await serve({ port: 0 });
  await using textual = await textClient(hub.addr.port);
  await using binary = await RawClient.connect(hub.addr.port);
  await binary.send(encodeFrame(Kind.Identity));
  assertEquals(u64((await binary.frame()).payload), 2n);
  // A binary body with newlines and zero bytes is delimited by its length.
  const body = new Uint8Array([0, 10, 255, 13, 10, 0x6d]);
  await binary.send(encodeRelay([1n], body));
  assertEquals(await textual.line(), "message 2 6");
  assertEquals(await textual.bytes(7), new Uint8Array([...body, 10]));
  await textual.send("relay 2 from text\n");
  assertEquals(await textual.line(), "relayed 1");
  const frame = await binary.frame();
  assertEquals(frame.kind, Kind.Deliver);
  assertEquals(u64(frame.payload), 1n);
  assertEquals(text(frame.payload.subarray(8)), "from text");
});

Deno.test("text: a first byte of tab, CR or LF picks the text dialect", async () => {
  await using hub = await serve({ port: 0 });
  for (const first of ["\t", "\r", "\n"]) {
    await using client = await RawClient.connect(hub.addr.port);
    await client.send(`${first}\nidentity\n`);
    assertMatch(await client.line(), /^(error unknown command|identity \d+)/);
  }
});
