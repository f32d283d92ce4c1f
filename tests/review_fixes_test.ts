/**
 * Regression tests for defects a review found: each failed before its fix.
 */
import {
  assert,
  assertEquals,
  assertLess,
  assertStrictEquals,
  assertThrows,
} from "./_assert.ts";
import {
  ErrorCode,
  FrameTooLargeError,
  Kind,
  MAX_LINE,
  OutboundArena,
  OutboundQueue,
  SEGMENT_COST,
  TextParser,
} from "../protocol/mod.ts";
import { serve } from "../hub/mod.ts";
import { RawClient } from "./_helpers.ts";

Deno.test("a line that grows past the limit in its last chunk is 'line too long', not a crash", () => {
  const parser = new TextParser(() => {});
  parser.parse(new Uint8Array(MAX_LINE).fill(0x61));
  assertThrows(
    () => parser.parse(new TextEncoder().encode("aaaaaaaaaa\n")),
    FrameTooLargeError,
  );
});

Deno.test("a multi-line relay of many short lines costs about its bytes", () => {
  const bodies: Uint8Array[] = [];
  const parser = new TextParser((command) => {
    if (command.type === "relay") bodies.push(command.body);
  });
  parser.parse(new TextEncoder().encode("relay\n1\n"));
  const lines = new TextEncoder().encode("a\n".repeat(200_000));
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < lines.length; i += 4096) {
    parser.parse(lines.subarray(i, i + 4096));
  }
  // One object per line would be tens of MB; one buffer is well under one.
  assertLess(Deno.memoryUsage().heapUsed - before, 8 * 1024 * 1024);
  assertEquals(parser.buffered, 2 * 200_000 - 1);
  parser.parse(new TextEncoder().encode("\n"));
  assertEquals(bodies[0]!.length, 2 * 200_000 - 1);
  assertEquals(bodies[0]!.subarray(0, 4), new TextEncoder().encode("a\na\n"));
});

Deno.test("waits below a threshold share one promise; ranges count in the footprint", async () => {
  let release!: (n: number) => void;
  const queue = new OutboundQueue({
    write: (p) =>
      new Promise<number>((resolve) => release = () => resolve(p.length)),
  });
  const arena = new OutboundArena();
  queue.push(new Uint8Array(100));
  queue.push(arena.reserve(50));
  queue.push(new Uint8Array(10));
  assertEquals(queue.queued, 160);
  assertEquals(queue.footprint, 160 + 3 * SEGMENT_COST);
  const a = queue.below(20);
  assertStrictEquals(queue.below(20), a);
  await Promise.resolve();
  while (queue.queued > 20) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    release(0);
  }
  await a;
  assert(queue.queued <= 20);
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

Deno.test("time the hub spends stalled does not count against a client's timeouts", async () => {
  await using hub = await serve({ port: 0, handshakeTimeout: 200 });
  await using client = await RawClient.connect(hub.addr.port);
  await client.send(new Uint8Array([Kind.Identity, 0, 0, 0, 0]));
  // The hub's thread is busy for three handshake timeouts: the byte has
  // arrived, but the hub could not read it.
  const until = performance.now() + 600;
  while (performance.now() < until) {
    // Busy, as a hub under a burst of work would be.
  }
  const reply = await client.frame();
  assertEquals(reply.kind, Kind.IdentityReply);
});
