import { assert, assertEquals } from "../_assert.ts";
import {
  encodeEcho,
  encodeFrame,
  encodeRelay,
  ErrorCode,
  Kind,
  MAX_BODY,
} from "../../protocol/mod.ts";
import { serve } from "../../hub/mod.ts";
import { bytes, RawClient, text, u64, waitFor } from "../_helpers.ts";

const IDENTITY = encodeFrame(Kind.Identity);
const LIST = encodeFrame(Kind.List);

async function identify(client: RawClient): Promise<bigint> {
  await client.send(IDENTITY);
  const frame = await client.frame();
  assertEquals(frame.kind, Kind.IdentityReply);
  return u64(frame.payload);
}

function ids(payload: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < payload.length; i += 8) out.push(u64(payload, i));
  return out;
}

async function connectMany(port: number, count: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await RawClient.connect(port);
    // Registration happens on the first byte: identify, in order.
    await identify(client);
    clients.push(client);
  }
  return clients;
}

Deno.test("the assignment: three clients, their ids and lists, and a relay", async () => {
  await using hub = await serve({ port: 0 });
  const [a, b, c] = await connectMany(hub.addr.port, 3) as [
    RawClient,
    RawClient,
    RawClient,
  ];
  try {
    const lists: bigint[][] = [];
    for (const client of [a, b, c]) {
      await client.send(LIST);
      const frame = await client.frame();
      assertEquals(frame.kind, Kind.ListReply);
      lists.push(ids(frame.payload));
    }
    assertEquals(lists, [[2n, 3n], [1n, 3n], [1n, 2n]]);
    await a.send(
      encodeRelay([2n, 3n], new TextEncoder().encode("Hello world!")),
    );
    for (const receiver of [b, c]) {
      const frame = await receiver.frame();
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(u64(frame.payload), 1n);
      assertEquals(text(frame.payload.subarray(8)), "Hello world!");
    }
  } finally {
    for (const client of [a, b, c]) client.close();
  }
});

Deno.test("the spec's examples, byte for byte", async () => {
  await using hub = await serve({ port: 0 });
  const clients = await connectMany(hub.addr.port, 7);
  try {
    const seventh = clients[6]!;
    await seventh.send(bytes(0x02, 0, 0, 0, 0));
    const reply = await seventh.frame();
    assertEquals(reply.kind, 0x82);
    assertEquals(reply.payload, bytes(0, 0, 0, 0, 0, 0, 0, 7));

    const relay = bytes(
      0x04,
      0,
      0,
      0,
      0x17,
      0x02,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x02,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x03,
      0x66,
      0x6f,
      0x6f,
      0x62,
      0x61,
      0x72,
    );
    await clients[0]!.send(relay);
    for (const receiver of [clients[1]!, clients[2]!]) {
      const frame = await receiver.frame();
      assertEquals(frame.kind, 0x84);
      assertEquals(frame.payload.length, 0x0e);
      assertEquals(
        frame.payload,
        bytes(0, 0, 0, 0, 0, 0, 0, 1, 0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72),
      );
    }
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("echo returns the body, empty and 1 MiB included", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await RawClient.connect(hub.addr.port);
  const big = new Uint8Array(MAX_BODY).map((_, i) => (i * 7) & 0xff);
  for (const body of [new Uint8Array(0), new TextEncoder().encode("hi"), big]) {
    await client.send(encodeEcho(body));
    const frame = await client.frame();
    assertEquals(frame.kind, Kind.EchoReply);
    assertEquals(frame.payload.length, body.length);
    assertEquals(frame.payload, body);
  }
});

Deno.test("ping, pong and auth on a hub without a token", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await RawClient.connect(hub.addr.port);
  await client.send(encodeFrame(Kind.Pong)); // answers nothing
  await client.send(encodeFrame(Kind.Ping));
  assertEquals((await client.frame()).kind, Kind.Pong);
  await client.send(
    encodeFrame(Kind.Auth, new TextEncoder().encode("anything")),
  );
  const ok = await client.frame();
  assertEquals(ok.kind, Kind.AuthOk);
  assertEquals(ok.payload.length, 0);
});

Deno.test("a receipt counts distinct registered receivers and lists unknown ids in order", async () => {
  await using hub = await serve({ port: 0 });
  const [a, b] = await connectMany(hub.addr.port, 2) as [RawClient, RawClient];
  // A connection that never speaks holds id 3 but is not registered.
  await using silent = await RawClient.connect(hub.addr.port);
  try {
    const body = new TextEncoder().encode("x");
    await a.send(
      encodeRelay(
        [9n, 2n, 2n, 1n, 3n, 9n, 0n, 0xffff_ffff_ffff_ffffn],
        body,
        true,
      ),
    );
    // The sender named itself: its own message comes before the receipt.
    const own = await a.frame();
    assertEquals(own.kind, Kind.Deliver);
    assertEquals(u64(own.payload), 1n);
    const receipt = await a.frame();
    assertEquals(receipt.kind, Kind.RelayReceipt);
    assertEquals(receipt.payload[0], 2);
    assertEquals(receipt.payload[1], 4);
    assertEquals(ids(receipt.payload.subarray(2)), [
      9n,
      3n,
      0n,
      0xffff_ffff_ffff_ffffn,
    ]);
    const delivered = await b.frame();
    assertEquals(delivered.kind, Kind.Deliver);
    // b got it once, despite being named twice: the next frame is the echo.
    await b.send(encodeEcho(body));
    assertEquals((await b.frame()).kind, Kind.EchoReply);
    assert(silent !== undefined);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("1,000 pipelined requests are answered in order", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await RawClient.connect(hub.addr.port);
  const frames: Uint8Array[] = [];
  const expected: number[] = [];
  for (let i = 0; i < 1000; i++) {
    switch (i % 5) {
      case 0:
        frames.push(encodeEcho(new TextEncoder().encode(`#${i}`)));
        expected.push(Kind.EchoReply);
        break;
      case 1:
        frames.push(IDENTITY);
        expected.push(Kind.IdentityReply);
        break;
      case 2:
        frames.push(LIST);
        expected.push(Kind.ListReply);
        break;
      case 3:
        frames.push(encodeRelay([42n], new Uint8Array(3), true));
        expected.push(Kind.RelayReceipt);
        break;
      default:
        frames.push(encodeFrame(Kind.Ping));
        expected.push(Kind.Pong);
    }
  }
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    all.set(frame, offset);
    offset += frame.length;
  }
  await client.send(all);
  for (let i = 0; i < 1000; i++) {
    const frame = await client.frame();
    assertEquals(frame.kind, expected[i], `reply ${i}`);
    if (frame.kind === Kind.EchoReply) {
      assertEquals(text(frame.payload), `#${i}`);
    }
  }
});

Deno.test("messages from one sender reach one receiver in order", async () => {
  await using hub = await serve({ port: 0 });
  const [sender, receiver] = await connectMany(hub.addr.port, 2) as [
    RawClient,
    RawClient,
  ];
  try {
    const count = 5000;
    const sending = (async () => {
      for (let i = 0; i < count; i += 100) {
        const batch: Uint8Array[] = [];
        for (let j = i; j < i + 100; j++) {
          const body = new Uint8Array(4);
          new DataView(body.buffer).setUint32(0, j);
          batch.push(encodeRelay([2n], body));
        }
        const joined = new Uint8Array(batch.reduce((n, f) => n + f.length, 0));
        let offset = 0;
        for (const frame of batch) {
          joined.set(frame, offset);
          offset += frame.length;
        }
        await sender.send(joined);
      }
    })();
    for (let i = 0; i < count; i++) {
      const frame = await receiver.frame();
      assertEquals(frame.kind, Kind.Deliver);
      const view = new DataView(frame.payload.buffer, frame.payload.byteOffset);
      assertEquals(view.getUint32(8), i);
    }
    await sending;
  } finally {
    sender.close();
    receiver.close();
  }
});

Deno.test("a 1 MiB body reaches 255 receivers, as one shared frame", async () => {
  await using hub = await serve({ port: 0 });
  const receivers = await connectMany(hub.addr.port, 255);
  await using sender = await RawClient.connect(hub.addr.port);
  try {
    const body = new Uint8Array(MAX_BODY).map((_, i) => (i * 31) & 0xff);
    const targets = receivers.map((_, i) => BigInt(i + 1));
    const before = hub.stats.queuedBytes;
    await sender.send(encodeRelay(targets, body, true));
    const receipt = await sender.frame();
    assertEquals(receipt.kind, Kind.RelayReceipt);
    assertEquals(receipt.payload[0], 255);
    assertEquals(receipt.payload[1], 0);
    assert(before === 0);
    // Read them all concurrently so no receiver's queue blocks the others.
    await Promise.all(receivers.map(async (receiver) => {
      const frame = await receiver.frame(30_000);
      assertEquals(frame.kind, Kind.Deliver);
      assertEquals(u64(frame.payload), 256n);
      assertEquals(frame.payload.length, 8 + MAX_BODY);
      assertEquals(frame.payload.subarray(8), body);
    }));
  } finally {
    for (const receiver of receivers) receiver.close();
  }
});

Deno.test("1 MiB bodies relayed to one and two receivers arrive intact", async () => {
  await using hub = await serve({ port: 0 });
  const [a, b, c] = await connectMany(hub.addr.port, 3) as [
    RawClient,
    RawClient,
    RawClient,
  ];
  try {
    for (const targets of [[2n], [2n, 3n], [3n, 2n, 2n]]) {
      const body = new Uint8Array(MAX_BODY).map((_, i) =>
        (i * 13 + targets.length) & 0xff
      );
      await a.send(encodeRelay(targets, body));
      for (const receiver of new Set(targets)) {
        const frame = await (receiver === 2n ? b : c).frame();
        assertEquals(frame.kind, Kind.Deliver);
        assertEquals(u64(frame.payload), 1n);
        assertEquals(frame.payload.subarray(8), body);
      }
    }
  } finally {
    for (const client of [a, b, c]) client.close();
  }
});

Deno.test("a connection is registered by its first byte, not by connecting", async () => {
  await using hub = await serve({ port: 0 });
  await using a = await RawClient.connect(hub.addr.port);
  await using b = await RawClient.connect(hub.addr.port);
  await identify(a);
  await a.send(LIST);
  assertEquals(ids((await a.frame()).payload), []);
  await b.send(encodeFrame(Kind.Ping));
  assertEquals((await b.frame()).kind, Kind.Pong);
  await a.send(LIST);
  assertEquals(ids((await a.frame()).payload), [2n]);
  b.close();
  await waitFor(() => hub.stats.registered === 1, "b to leave the registry");
  await a.send(LIST);
  assertEquals(ids((await a.frame()).payload), []);
});

const FATAL_CASES: Array<{ name: string; frame: Uint8Array; code: number }> = [
  {
    name: "unknown kind 0x0b",
    frame: bytes(0x0b, 0, 0, 0, 0),
    code: ErrorCode.Malformed,
  },
  {
    name: "unknown kind 0x1f",
    frame: bytes(0x1f, 0, 0, 0, 1, 0),
    code: ErrorCode.Malformed,
  },
  {
    name: "relay with zero receivers",
    frame: bytes(0x04, 0, 0, 0, 1, 0),
    code: ErrorCode.Malformed,
  },
  {
    name: "relay with an empty payload",
    frame: bytes(0x05, 0, 0, 0, 0),
    code: ErrorCode.Malformed,
  },
  {
    name: "relay too short for its receivers",
    frame: bytes(0x04, 0, 0, 0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 1),
    code: ErrorCode.Malformed,
  },
  {
    name: "identity with a payload",
    frame: bytes(0x02, 0, 0, 0, 1, 0),
    code: ErrorCode.TooLarge,
  },
  {
    name: "auth token over 1024 bytes",
    frame: bytes(0x08, 0, 0, 4, 1),
    code: ErrorCode.TooLarge,
  },
  {
    name: "relay body over 1 MiB once n is known",
    frame: bytes(0x04, 0, 0x10, 0, 0x0a, 1),
    code: ErrorCode.TooLarge,
  },
];
for (const kind of [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]) {
  for (const length of [MAX_BODY + 1, 2 ** 31, 2 ** 32 - 1]) {
    if ((kind === 0x04 || kind === 0x05) && length === MAX_BODY + 1) continue; // within the relay limit
    const frame = new Uint8Array(5);
    frame[0] = kind;
    new DataView(frame.buffer).setUint32(1, length);
    FATAL_CASES.push({
      name: `kind 0x0${kind} declaring ${length} bytes`,
      frame,
      code: ErrorCode.TooLarge,
    });
  }
}

Deno.test("fatal frames get ERROR with their code, then the hub closes", async (t) => {
  await using hub = await serve({ port: 0 });
  await using witness = await RawClient.connect(hub.addr.port);
  await identify(witness);
  for (const { name, frame, code } of FATAL_CASES) {
    await t.step(name, async () => {
      await using client = await RawClient.connect(hub.addr.port);
      // Only the header (and at most a few bytes) is sent: the error must not wait for a body.
      await client.send(frame);
      const error = await client.frame();
      assertEquals(error.kind, Kind.Error);
      assertEquals(error.payload[0], code);
      assert(
        text(error.payload.subarray(1)).length > 0,
        "the error has a message",
      );
      assert(await client.closedByPeer());
      assert(
        hub.stats.queuedBytes < 1024 * 1024,
        "the declared size was not buffered",
      );
    });
  }
  // Nobody else was disturbed.
  await witness.send(LIST);
  assertEquals(ids((await witness.frame()).payload), []);
});

Deno.test("a relay body over 1 MiB is refused even when the frame fits the relay limit", async () => {
  await using hub = await serve({ port: 0 });
  await using client = await RawClient.connect(hub.addr.port);
  const frame = new Uint8Array(6);
  frame[0] = Kind.Relay;
  new DataView(frame.buffer).setUint32(1, 1 + 8 + MAX_BODY + 1);
  frame[5] = 1;
  await client.send(frame);
  const error = await client.frame();
  assertEquals(error.kind, Kind.Error);
  assertEquals(error.payload[0], ErrorCode.TooLarge);
});

Deno.test("clients that vanish mid-frame or with unread replies leave the hub healthy", async () => {
  await using hub = await serve({ port: 0 });
  await using witness = await RawClient.connect(hub.addr.port);
  await identify(witness);
  for (let i = 0; i < 50; i++) {
    const client = await RawClient.connect(hub.addr.port);
    // Unread replies in the client's receive buffer make its close a reset.
    await client.send(encodeEcho(new Uint8Array(64 * 1024)));
    await waitFor(() => hub.stats.queuedBytes === 0, "the echo to be written");
    await client.send(encodeRelay([1n], new Uint8Array(1000)).subarray(0, 500));
    client.close();
  }
  await waitFor(
    () => hub.stats.connections === 1,
    "the dead clients to be removed",
  );
  await witness.send(LIST);
  assertEquals(ids((await witness.frame()).payload), []);
});

Deno.test("with a token, a first frame other than AUTH is refused at its first byte", async () => {
  await using hub = await serve({ port: 0, token: "s3cret" });
  await using client = await RawClient.connect(hub.addr.port);
  // Only the header of a 1 MiB ECHO: the refusal must not wait for the body.
  await client.send(new Uint8Array([Kind.Echo, 0, 0x10, 0, 0]));
  const frame = await client.frame();
  assertEquals(frame.kind, Kind.Error);
  assertEquals(frame.payload[0], ErrorCode.Unauthorized);
  assert(await client.closedByPeer());
  await using text = await RawClient.connect(hub.addr.port);
  await text.send("x".repeat(4096));
  assertEquals(await text.line(), "error unauthorized");
});
