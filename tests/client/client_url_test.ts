/** Hub URLs: parsing, and `connect(url)` picking the transport by scheme. */
import {
  connect,
  ConnectError,
  DEFAULT_PORT,
  type HubAddress,
  parseHubUrl,
} from "../../client/mod.ts";
import { connect as browserConnect } from "../../client/browser.ts";
import { serve } from "../../hub/mod.ts";
import { text } from "../_helpers.ts";
import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  rejection,
} from "../_client_helpers.ts";
import { makeCerts } from "../_tls.ts";

Deno.test("parseHubUrl: every scheme, with and without a port", () => {
  const cases: Array<[string | URL, HubAddress]> = [
    ["msghub://127.0.0.1:4000", {
      wire: "tcp",
      tls: false,
      hostname: "127.0.0.1",
      port: 4000,
      url: "msghub://127.0.0.1:4000",
    }],
    ["msghub://hub.example.com", {
      wire: "tcp",
      tls: false,
      hostname: "hub.example.com",
      port: 1234,
      url: "msghub://hub.example.com:1234",
    }],
    ["msghub://hub.example.com/", {
      wire: "tcp",
      tls: false,
      hostname: "hub.example.com",
      port: 1234,
      url: "msghub://hub.example.com:1234",
    }],
    ["MSGHUBS://Hub.Example.com:9", {
      wire: "tcp",
      tls: true,
      hostname: "Hub.Example.com",
      port: 9,
      url: "msghubs://Hub.Example.com:9",
    }],
    ["msghub://[::1]:5", {
      wire: "tcp",
      tls: false,
      hostname: "::1",
      port: 5,
      url: "msghub://[::1]:5",
    }],
    [new URL("msghubs://localhost"), {
      wire: "tcp",
      tls: true,
      hostname: "localhost",
      port: 1234,
      url: "msghubs://localhost:1234",
    }],
    ["ws://127.0.0.1:8080/chat?room=1", {
      wire: "websocket",
      tls: false,
      hostname: "127.0.0.1",
      port: 8080,
      url: "ws://127.0.0.1:8080/chat?room=1",
    }],
    ["ws://hub.example.com", {
      wire: "websocket",
      tls: false,
      hostname: "hub.example.com",
      port: 80,
      url: "ws://hub.example.com/",
    }],
    ["wss://hub.example.com/msghub", {
      wire: "websocket",
      tls: true,
      hostname: "hub.example.com",
      port: 443,
      url: "wss://hub.example.com/msghub",
    }],
  ];
  for (const [url, expected] of cases) {
    assertEquals(parseHubUrl(url), expected, String(url));
  }
  assertEquals(DEFAULT_PORT, 1234);
});

Deno.test("parseHubUrl: what is not a hub URL is a TypeError that says why", () => {
  const cases: Array<[string, string]> = [
    [
      "127.0.0.1:1234",
      'Cannot parse hub URL "127.0.0.1:1234": not a URL such as "msghub://host:port"',
    ],
    ["not a url", "not a URL"],
    [
      "http://127.0.0.1:1234",
      'Cannot parse hub URL "http://127.0.0.1:1234": scheme "http:" is not one of msghub:, msghubs:, ws:, wss:',
    ],
    ["tcp://127.0.0.1", 'scheme "tcp:" is not one of'],
    ["msghub://", 'Cannot parse hub URL "msghub://": no host'],
    ["msghub://127.0.0.1:99999", "not a URL"],
    [
      "msghub://127.0.0.1:1234/room",
      'Cannot parse hub URL "msghub://127.0.0.1:1234/room": a msghub: URL takes no path "/room"',
    ],
    ["msghubs://h?x=1", 'a msghubs: URL takes no query "?x=1"'],
    ["msghub://h#top", 'a msghub: URL takes no fragment "#top"'],
    [
      "msghub://s3cret@h:1",
      "Cannot parse hub URL: a msghub: URL takes no credentials",
    ],
  ];
  for (const [url, message] of cases) {
    let error: unknown = null;
    try {
      parseHubUrl(url);
    } catch (caught) {
      error = caught;
    }
    assertInstanceOf(error, TypeError, url);
    if (!error.message.includes(message)) {
      throw new Error(`For "${url}": "${error.message}" lacks "${message}"`);
    }
  }
});

Deno.test("connect(msghub://127.0.0.1:PORT) reaches the hub over TCP", async () => {
  await using hub = await serve({ port: 0 });
  const url = `msghub://127.0.0.1:${hub.addr.port}`;
  await using alice = await connect(url);
  await using bob = await connect(new URL(url));
  await using carol = await connect({ port: hub.addr.port });
  const ids = [
    await alice.identity(),
    await bob.identity(),
    await carol.identity(),
  ];
  assertEquals(await alice.list(), [ids[1]!, ids[2]!]);
  assertEquals(text(await bob.echo("over tcp")), "over tcp");
  assertEquals(await alice.relayWithReceipt([ids[2]!], "hi"), {
    delivered: 1,
    unknown: [],
  });
  for await (const { sender, body } of carol) {
    assertEquals([sender, text(body)], [ids[0]!, "hi"]);
    break;
  }
});

Deno.test("connect(msghubs://…) speaks TLS; caCerts needs TLS over TCP", async () => {
  await using certs = await makeCerts();
  await using hub = await serve({
    port: 0,
    tls: { cert: certs.cert, key: certs.key },
  });
  const port = hub.addr.port;
  await using client = await connect(`msghubs://localhost:${port}`, {
    caCerts: [certs.ca],
  });
  assertEquals(text(await client.echo("secret")), "secret");
  // Without the CA, the hub's certificate is not trusted.
  const untrusted = await rejection(connect(`msghubs://localhost:${port}`));
  assertInstanceOf(untrusted, ConnectError);
  await assertRejects(
    () => connect(`msghub://localhost:${port}`, { caCerts: [certs.ca] }),
    TypeError,
    'Invalid options: caCerts needs a msghubs: URL, not "msghub://localhost:',
  );
  await assertRejects(
    () => connect(`wss://localhost:${port}/`, { caCerts: [certs.ca] }),
    TypeError,
    "a WebSocket trusts what its runtime trusts",
  );
});

Deno.test("connect: a bad URL or token is refused before anything is dialled", async () => {
  await assertRejects(
    () => connect("http://127.0.0.1:1"),
    TypeError,
    'scheme "http:"',
  );
  await assertRejects(
    () => connect("msghub://127.0.0.1:1", { token: "" }),
    RangeError,
  );
  await assertRejects(
    () => connect("ws://127.0.0.1:1/", { token: "x".repeat(1025) }),
    RangeError,
  );
});

Deno.test("connect: an unreachable msghub: URL is a ConnectError naming the address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const error = await rejection(connect(`msghub://127.0.0.1:${port}`));
  assertInstanceOf(error, ConnectError);
  assertEquals(
    error.message,
    `Cannot connect to 127.0.0.1:${port}: connection refused`,
  );
});

Deno.test("the browser entry refuses msghub: and msghubs: URLs: it has no TCP", async () => {
  await using hub = await serve({ port: 0 });
  for (const scheme of ["msghub", "msghubs"]) {
    await assertRejects(
      () => browserConnect(`${scheme}://127.0.0.1:${hub.addr.port}`),
      TypeError,
      "this build has no TCP; use a ws: or wss: URL",
    );
  }
});
