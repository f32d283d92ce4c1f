/**
 * The client's liveness timer: PING after a silence, PingTimeoutError when
 * the hub stops answering. Over real sockets: a FakeHub that reads and never
 * replies, a hub process stopped with SIGSTOP, and a proxy in front of the
 * hub's WebSocket port muted. Short intervals, no sleeps: each test awaits the failure with a
 * deadline.
 */
import {
  Client,
  CLIENT_DEFAULTS,
  connect,
  ConnectionClosedError,
  PingTimeoutError,
  type Transport,
} from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import { encodeFrame, Kind } from "../../protocol/mod.ts";
import { deadline } from "../_helpers.ts";
import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  FakeHub,
  rejection,
} from "../_client_helpers.ts";
import { HubProcess } from "../_cli.ts";
import { WsRecorder } from "../_ws_recorder.ts";

const FAST = { pingInterval: 20, pingTimeout: 100 };

/** What the client's message iterator throws when it ends. */
async function iteratorEnd(client: Client): Promise<unknown> {
  try {
    for await (const _ of client) {
      // Nothing is relayed in these tests.
    }
  } catch (error) {
    return error;
  }
  return null;
}

Deno.test("liveness: the defaults are 30 s between looks and 10 s for an answer", () => {
  assertEquals(CLIENT_DEFAULTS, { pingInterval: 30_000, pingTimeout: 10_000 });
});

Deno.test("liveness: a hub that reads but never answers fails pending calls with PingTimeoutError", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port, ...FAST }),
    fake.acceptIdentified(),
  ]);
  await using _client = client;
  await using _peer = peer;
  const echo = client.echo("anyone there?");
  echo.catch(() => {});
  assertEquals((await peer.frame()).kind, Kind.Echo);
  // The hub goes silent: the client asks with a PING of its own.
  assertEquals((await peer.frame()).kind, Kind.Ping);
  const error = await deadline(rejection(echo), 10_000, "the echo to fail");
  assertInstanceOf(error, PingTimeoutError);
  assertEquals(error.timeout, FAST.pingTimeout);
  assertEquals(error.name, "PingTimeoutError");
  assertEquals(
    error.message,
    "Connection lost: the hub did not answer PING within 100 ms",
  );
  await deadline(client.closed, 10_000, "the client to close");
  assertInstanceOf(await iteratorEnd(client), PingTimeoutError);
  const late = await rejection(client.identity());
  assertInstanceOf(late, ConnectionClosedError);
  assertInstanceOf(late.cause, PingTimeoutError);
  await peer.hungUp();
});

Deno.test("liveness: a hub that answers keeps the client alive through many PINGs", async () => {
  await using fake = new FakeHub();
  const [client, peer] = await Promise.all([
    connect({ port: fake.port, ...FAST }),
    fake.acceptIdentified(),
  ]);
  await using _client = client;
  await using _peer = peer;
  for (let i = 0; i < 5; i++) {
    assertEquals((await peer.frame()).kind, Kind.Ping);
    await peer.send(encodeFrame(Kind.Pong));
  }
  // Had an answer not counted, the client would have hung up after the
  // first PING and peer.frame() above would have thrown. Now the hub stops
  // answering, and the client gives up.
  await deadline(client.closed, 10_000, "the client to close");
  assertInstanceOf(await iteratorEnd(client), PingTimeoutError);
});

Deno.test("liveness: a hub process stopped with SIGSTOP is detected", async () => {
  await using hub = await HubProcess.start();
  await using client = await connect({ port: hub.port, ...FAST });
  await client.identity();
  const pid = hub.child.pid;
  Deno.kill(pid, "SIGSTOP");
  try {
    const error = await deadline(
      rejection(client.echo("x")),
      10_000,
      "the echo to fail",
    );
    assertInstanceOf(error, PingTimeoutError);
    await deadline(client.closed, 10_000, "the client to close");
  } finally {
    Deno.kill(pid, "SIGCONT");
  }
});

Deno.test("liveness: over WebSocket, a silent path fails the client the same way", async () => {
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using peer = new WsRecorder(hub.wsAddr!.port);
  await using client = await connect(peer.url(), FAST);
  await client.identity();
  peer.mute();
  const error = await deadline(
    rejection(client.list()),
    10_000,
    "the list to fail",
  );
  assertInstanceOf(error, PingTimeoutError);
  await deadline(client.closed, 10_000, "the client to close");
});

Deno.test("liveness: bad ping options are RangeErrors before anything is dialled", async () => {
  for (
    const options of [
      { pingInterval: -1 },
      { pingTimeout: Number.NaN },
      { pingInterval: Infinity },
      { pingTimeout: 2 ** 31 },
    ]
  ) {
    // Port 1 would refuse: a RangeError proves nothing was dialled.
    await assertRejects(() => connect({ port: 1, ...options }), RangeError);
    await assertRejects(
      () => connect("msghub://127.0.0.1:1", options),
      RangeError,
    );
  }
  // The constructor checks them before it touches its transport.
  const untouched: Transport = {
    write: () => Promise.reject(new Error("Unexpected write")),
    closeWrite: () => Promise.reject(new Error("Unexpected closeWrite")),
    close: () => {
      throw new Error("Unexpected close");
    },
    [Symbol.asyncIterator]: () => {
      throw new Error("Unexpected read");
    },
  };
  let thrown: unknown = null;
  try {
    new Client(untouched, { pingInterval: -5 });
  } catch (error) {
    thrown = error;
  }
  assertInstanceOf(thrown, RangeError);
  assertEquals(
    thrown.message,
    'Invalid pingInterval: "-5" is not a number of milliseconds from 0 to 2147483647',
  );
});
