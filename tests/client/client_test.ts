import {
  type Client,
  connect,
  ConnectError,
  ConnectionClosedError,
  HubError,
  HubProtocolError,
  type Message,
} from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import {
  encodeDeliver,
  encodeError,
  encodeFrame,
  encodeIdentityReply,
  encodeListReply,
  ErrorCode,
  Kind,
  MAX_BODY,
} from "../../protocol/mod.ts";
import { deadline, text } from "../_helpers.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  FakeHub,
  rejection,
} from "../_client_helpers.ts";

const encoder = new TextEncoder();

/** The next `count` messages of `client`. */
async function take(client: Client, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  if (count === 0) return messages;
  await deadline(
    (async () => {
      for await (const message of client.messages()) {
        messages.push(message);
        if (messages.length === count) break;
      }
    })(),
    10_000,
    `${count} messages`,
  );
  return messages;
}

/** Everything the iterator still yields, and what it throws at the end. */
async function drain(
  client: Client,
): Promise<{ messages: Message[]; error: unknown }> {
  const messages: Message[] = [];
  try {
    await deadline(
      (async () => {
        for await (const message of client) messages.push(message);
      })(),
      10_000,
      "the message iterator to end",
    );
  } catch (error) {
    return { messages, error };
  }
  return { messages, error: null };
}

Deno.test("identity, list, echo and ping against a hub", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  await using a = await connect({ port });
  await using b = await connect({ hostname: "127.0.0.1", port });
  const idA = await a.identity();
  const idB = await b.identity();
  assert(idB > idA, `ids increase: ${idA} then ${idB}`);
  // connect() waits for registration, so each sees the other at once.
  assertEquals(await a.list(), [idB]);
  assertEquals(await b.list(), [idA]);
  assertEquals(text(await a.echo("hello world")), "hello world");
  assertEquals(await a.echo(new Uint8Array(0)), new Uint8Array(0));
  const big = new Uint8Array(MAX_BODY).map((_, i) => (i * 31) & 0xff);
  assertEquals(await a.echo(big), big);
  await a.ping();
});

Deno.test("a client alone gets an empty list", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await connect({ port: hub.addr.port });
  assertEquals(await client.list(), []);
});

Deno.test("pipelined calls resolve in request order", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await connect({ port: hub.addr.port });
  const id = await client.identity();
  const calls: Promise<unknown>[] = [];
  const expected: unknown[] = [];
  for (let i = 0; i < 500; i++) {
    switch (i % 5) {
      case 0:
        calls.push(client.echo(`#${i}`).then(text));
        expected.push(`#${i}`);
        break;
      case 1:
        calls.push(client.identity());
        expected.push(id);
        break;
      case 2:
        calls.push(client.list());
        expected.push([]);
        break;
      case 3:
        calls.push(client.ping());
        expected.push(undefined);
        break;
      case 4:
        calls.push(client.relayWithReceipt([id + 1000n], `#${i}`));
        expected.push({ delivered: 0, unknown: [id + 1000n] });
        break;
    }
  }
  assertEquals(await Promise.all(calls), expected);
});

Deno.test("relayWithReceipt counts receivers and lists unknown ids", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  await using a = await connect({ port });
  await using b = await connect({ port });
  const idA = await a.identity();
  const idB = await b.identity();
  const receipt = await a.relayWithReceipt(
    [99n, idB, idB, idA, 98n, 99n],
    "to both",
  );
  assertEquals(receipt, { delivered: 2, unknown: [99n, 98n] });
  const [own] = await take(a, 1);
  const [theirs] = await take(b, 1);
  assertEquals(own?.sender, idA);
  assertEquals(theirs?.sender, idA);
  assertEquals(text(theirs!.body), "to both");
  assertEquals(await a.relayWithReceipt([77n], "nobody"), {
    delivered: 0,
    unknown: [77n],
  });
});

Deno.test("messages from another client arrive in order, binary bodies intact", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  await using sender = await connect({ port });
  await using receiver = await connect({ port });
  const from = await sender.identity();
  const to = await receiver.identity();
  const binary = new Uint8Array(256).map((_, i) => i);
  for (let i = 0; i < 100; i++) await sender.relay([to], `message ${i}`);
  await sender.relay([to], binary);
  await sender.relay([to], new Uint8Array(0));
  const messages = await take(receiver, 102);
  for (let i = 0; i < 100; i++) {
    assertEquals(messages[i]?.sender, from);
    assertEquals(text(messages[i]!.body), `message ${i}`);
  }
  assertEquals(messages[100]?.body, binary);
  assertEquals(messages[101]?.body, new Uint8Array(0));
});

Deno.test("the client itself is async-iterable over its messages", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await connect({ port: hub.addr.port });
  const me = await client.identity();
  await client.relay([me], "one");
  await client.relay([me], "two");
  const seen: string[] = [];
  for await (const { sender, body } of client) {
    assertEquals(sender, me);
    seen.push(text(body));
    if (seen.length === 2) break;
  }
  assertEquals(seen, ["one", "two"]);
});

Deno.test("bad arguments reject with RangeError and send nothing", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await connect({ port: hub.addr.port });
  const me = await client.identity();
  const tooMany = Array.from({ length: 256 }, (_, i) => BigInt(i + 1));
  const tooBig = new Uint8Array(MAX_BODY + 1);
  await assertRejects(() => client.relay([], "x"), RangeError);
  await assertRejects(() => client.relay(tooMany, "x"), RangeError);
  await assertRejects(() => client.relay([me], tooBig), RangeError);
  await assertRejects(() => client.relay([-1n], "x"), RangeError);
  await assertRejects(() => client.relay([1n << 64n], "x"), RangeError);
  await assertRejects(() => client.relayWithReceipt([], "x"), RangeError);
  await assertRejects(() => client.relayWithReceipt(tooMany, "x"), RangeError);
  await assertRejects(() => client.relayWithReceipt([me], tooBig), RangeError);
  await assertRejects(() => client.echo(tooBig), RangeError);
  await assertRejects(
    () => connect({ port: hub.addr.port, token: "" }),
    RangeError,
  );
  // The hub saw none of it: the connection still works and nothing came back.
  assertEquals(await client.relayWithReceipt([me], "ok"), {
    delivered: 1,
    unknown: [],
  });
  const [message] = await take(client, 1);
  assertEquals(text(message!.body), "ok");
  // 255 receivers and a 1 MiB body are allowed.
  const many = Array.from({ length: 255 }, () => me);
  const full = new Uint8Array(MAX_BODY).fill(7);
  assertEquals(await client.relayWithReceipt(many, full), {
    delivered: 1,
    unknown: [],
  });
  assertEquals((await take(client, 1))[0]?.body, full);
});

Deno.test("close sends what is queued; later calls reject at once", async () => {
  await using hub = await serve({ port: 0 });
  const port = hub.addr.port;
  await using receiver = await connect({ port });
  const to = await receiver.identity();
  const sender = await connect({ port });
  for (let i = 0; i < 50; i++) await sender.relay([to], `last words ${i}`);
  await sender.close();
  const messages = await take(receiver, 50);
  assertEquals(text(messages[49]!.body), "last words 49");
  await sender.closed;
  await sender.close(); // a second close is harmless
  await assertRejects(() => sender.identity(), ConnectionClosedError);
  await assertRejects(() => sender.relay([to], "x"), ConnectionClosedError);
  await assertRejects(() => sender.ping(), ConnectionClosedError);
  const end = await drain(sender);
  assertEquals(end, { messages: [], error: null });
});

Deno.test("calls made before close still get their replies", async () => {
  await using hub = await serve({ port: 0 });
  const client = await connect({ port: hub.addr.port });
  const echo = client.echo("in flight");
  const closing = client.close();
  assertEquals(text(await echo), "in flight");
  await closing;
});

Deno.test("authentication: the right token works, a wrong or missing one is HubError 7", async () => {
  await using hub = await serve({ port: 0, token: "s3cret" });
  const port = hub.addr.port;
  await using good = await connect({ port, token: "s3cret" });
  assert((await good.identity()) > 0n);
  const wrong = await rejection(connect({ port, token: "guess" }));
  assertInstanceOf(wrong, HubError);
  assertEquals(wrong.code, ErrorCode.Unauthorized);
  assert(wrong.message.length > 0, "the hub's message is kept");
  const missing = await rejection(connect({ port }));
  assertInstanceOf(missing, HubError);
  assertEquals(missing.code, ErrorCode.Unauthorized);
  // Only the good client is registered.
  assertEquals(await good.list(), []);
});

Deno.test("a hub without a token accepts any token", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await connect({ port: hub.addr.port, token: "any" });
  assert((await client.identity()) > 0n);
});

Deno.test("an unreachable hub is a ConnectError naming the address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const error = await rejection(connect({ port }));
  assertInstanceOf(error, ConnectError);
  assertEquals(
    error.message,
    `Cannot connect to 127.0.0.1:${port}: connection refused`,
  );
  assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
});

Deno.test("hub shutdown: messages already received, then HubError 6", async () => {
  const hub = await serve({ port: 0 });
  try {
    await using client = await connect({ port: hub.addr.port });
    const me = await client.identity();
    await client.relayWithReceipt([me], "before");
    const pending = client.echo("x".repeat(10)).then(
      text,
      (error: unknown) => error,
    );
    await hub.shutdown();
    await client.closed;
    // The echo was answered before the hub drained, or failed with its ERROR.
    const outcome = await pending;
    if (typeof outcome !== "string") {
      assertInstanceOf(outcome, HubError);
      assertEquals(outcome.code, ErrorCode.ShuttingDown);
    }
    const end = await drain(client);
    assertEquals(end.messages.map((m) => text(m.body)), ["before"]);
    assertInstanceOf(end.error, HubError);
    assertEquals(end.error.code, ErrorCode.ShuttingDown);
    // Each new iterator reports why the stream ended.
    const again = await drain(client);
    assertEquals(again.messages, []);
    assertInstanceOf(again.error, HubError);
    await assertRejects(() => client.identity(), ConnectionClosedError);
  } finally {
    await hub.shutdown();
  }
});

Deno.test("fake hub: an ERROR rejects every pending call with HubError", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port }),
    fake.acceptIdentified(5n),
  ]);
  await using _client = client;
  await using _peer = peer; // disposed first: the client's close sees EOF
  const calls = [client.identity(), client.list(), client.echo("x")];
  for (const call of calls) call.catch(() => {});
  for (const kind of [Kind.Identity, Kind.List, Kind.Echo]) {
    assertEquals((await peer.frame()).kind, kind);
  }
  await peer.send(encodeDeliver(9n, encoder.encode("first")));
  await peer.send(encodeIdentityReply(5n));
  await peer.send(encodeError(ErrorCode.Unauthorized, "unauthorized"));
  peer.close();
  assertEquals(await calls[0], 5n);
  for (const call of calls.slice(1)) {
    const error = await rejection(call);
    assertInstanceOf(error, HubError);
    assertEquals(error.code, 7);
    assertEquals(error.message, "unauthorized");
    assertEquals(error.name, "HubError");
  }
  const end = await drain(client);
  assertEquals(end.messages.map((m) => [m.sender, text(m.body)]), [
    [9n, "first"],
  ]);
  assertInstanceOf(end.error, HubError);
  await client.closed;
  const late = await rejection(client.identity());
  assertInstanceOf(late, ConnectionClosedError);
  assertInstanceOf(late.cause, HubError);
});

Deno.test("fake hub: the client answers PING with PONG by itself", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port }),
    fake.acceptIdentified(),
  ]);
  await using _client = client;
  await using _peer = peer; // disposed first: the client's close sees EOF
  await peer.send(encodeFrame(Kind.Ping));
  assertEquals(await peer.frame(), {
    kind: Kind.Pong,
    payload: new Uint8Array(0),
  });
  // And a PING of its own gets the hub's PONG, not confused with the above.
  const ping = client.ping();
  assertEquals((await peer.frame()).kind, Kind.Ping);
  await peer.send(encodeFrame(Kind.Ping));
  await peer.send(encodeFrame(Kind.Pong));
  await ping;
  assertEquals((await peer.frame()).kind, Kind.Pong);
});

Deno.test("fake hub: a connection cut mid-frame rejects with ConnectionClosedError and ends messages", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port }),
    fake.acceptIdentified(),
  ]);
  await using _client = client;
  const list = client.list();
  list.catch(() => {});
  assertEquals((await peer.frame()).kind, Kind.List);
  await peer.send(encodeDeliver(2n, encoder.encode("kept")));
  await peer.send(encodeListReply([2n, 3n]).subarray(0, 9));
  peer.close();
  const error = await rejection(list);
  assertInstanceOf(error, ConnectionClosedError);
  assertEquals(error.name, "ConnectionClosedError");
  const end = await drain(client);
  assertEquals(end.messages.map((m) => text(m.body)), ["kept"]);
  assertEquals(end.error, null);
  await client.closed;
});

Deno.test("fake hub: frames split into single bytes are reassembled", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port }),
    fake.acceptIdentified(),
  ]);
  await using _client = client;
  await using _peer = peer; // disposed first: the client's close sees EOF
  const echo = client.echo("split");
  assertEquals((await peer.frame()).kind, Kind.Echo);
  const bytes = new Uint8Array([
    ...encodeDeliver(4n, encoder.encode("a")),
    ...encodeFrame(Kind.EchoReply, encoder.encode("split")),
    ...encodeDeliver(4n, encoder.encode("b")),
  ]);
  for (let i = 0; i < bytes.length; i++) {
    await peer.send(bytes.subarray(i, i + 1));
  }
  assertEquals(text(await echo), "split");
  const messages = await take(client, 2);
  assertEquals(messages.map((m) => text(m.body)), ["a", "b"]);
});

Deno.test("fake hub: protocol violations fail the client with HubProtocolError", async (t) => {
  const cases: Array<[string, Uint8Array, boolean]> = [
    ["an unknown kind", encodeFrame(0x42), false],
    ["a reply with no request pending", encodeFrame(Kind.EchoReply), false],
    ["a reply of the wrong kind", encodeFrame(Kind.Pong), true],
    [
      "an IDENTITY_REPLY of 4 bytes",
      encodeFrame(Kind.IdentityReply, new Uint8Array(4)),
      true,
    ],
    [
      "a DELIVER without a sender",
      encodeFrame(Kind.Deliver, new Uint8Array(3)),
      false,
    ],
  ];
  for (const [name, frame, withRequest] of cases) {
    await t.step(name, async () => {
      await using fake = new FakeHub();
      const [client, peer] = await Promise.all([
        connect({ port: fake.port }),
        fake.acceptIdentified(),
      ]);
      await using _client = client;
      await using _peer = peer;
      const call = withRequest ? client.identity() : null;
      call?.catch(() => {});
      if (call !== null) await peer.frame();
      await peer.send(frame);
      await client.closed;
      if (call !== null) {
        assertInstanceOf(await rejection(call), HubProtocolError);
      }
      const end = await drain(client);
      assertInstanceOf(end.error, HubProtocolError);
    });
  }
});

Deno.test("fake hub: close() waits for the hub to hang up, then frees everything", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port }),
    fake.acceptIdentified(),
  ]);
  await using _peer = peer;
  await client.relay([2n], "bye");
  const closing = client.close();
  assertEquals((await peer.frame()).kind, Kind.Relay);
  await peer.hungUp();
  peer.close();
  await closing;
  await client.closed;
});
