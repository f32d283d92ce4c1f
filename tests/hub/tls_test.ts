import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_assert.ts";
import { connect, ConnectError, HubError } from "../../client/mod.ts";
import { CloseReason, ConfigError, serve } from "../../hub/mod.ts";
import { hubOptions } from "../../cli/hub/mod.ts";
import { UsageError } from "../../flags/mod.ts";
import { deadline, waitFor } from "../_helpers.ts";
import { HubProcess, run } from "../_cli.ts";
import { makeCerts } from "../_tls.ts";

/** Reads until the peer hangs up (what arrives is a TLS alert: dropped), then closes. */
async function hungUp(conn: Deno.Conn): Promise<boolean> {
  const buffer = new Uint8Array(4096);
  try {
    await deadline(
      (async () => {
        while ((await conn.read(buffer)) !== null) {
          // Not msghub frames: skip them.
        }
      })(),
      10_000,
      "the hub to hang up",
    );
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
  } finally {
    conn.close();
  }
  return true;
}

Deno.test("tls: two library clients over TLS, by name and by address", async () => {
  await using certs = await makeCerts();
  await using hub = await serve({
    port: 0,
    tls: { cert: certs.cert, key: certs.key },
  });
  const port = hub.addr.port;
  const tls = { port, tls: true, caCerts: [certs.ca] };
  await using alice = await connect({ ...tls, hostname: "localhost" });
  await using bob = await connect({ ...tls, hostname: "127.0.0.1" });
  assertEquals(await alice.identity(), 1n);
  assertEquals(await bob.identity(), 2n);
  assertEquals(await alice.list(), [2n]);
  const body = new Uint8Array(300_000).map((_, i) => i & 0xff);
  assertEquals(await alice.relayWithReceipt([2n, 7n], body), {
    delivered: 1,
    unknown: [7n],
  });
  await alice.relay([2n], "second");
  const iterator = bob.messages();
  const first = await iterator.next();
  assert(!first.done);
  assertEquals(first.value.sender, 1n);
  assertEquals(first.value.body, body);
  const second = await iterator.next();
  assert(!second.done);
  assertEquals(new TextDecoder().decode(second.value.body), "second");
  assertEquals(
    new TextDecoder().decode(await bob.echo("over tls")),
    "over tls",
  );
  await alice.close();
  await bob.close();
  await waitFor(
    () => hub.metrics().counters.closed[CloseReason.ClientClosed] === 2,
    "both closes",
  );
});

Deno.test("tls: an untrusted hub fails connect() with one clear error; the hub names the close", async () => {
  await using certs = await makeCerts();
  await using hub = await serve({
    port: 0,
    tls: { cert: certs.cert, key: certs.key },
  });
  const port = hub.addr.port;
  const error = await assertRejects(
    () => connect({ port, hostname: "localhost", tls: true }),
    ConnectError,
  );
  assertMatch(
    error.message,
    /^Cannot connect to localhost:\d+: TLS handshake failed: invalid peer certificate: UnknownIssuer$/,
  );
  // A plain client on a TLS port is hung up on; a bare port check is routine.
  const plain = await Deno.connect({ port });
  await plain.write(new TextEncoder().encode("identity\n"));
  assert(await hungUp(plain), "the hub hangs up on a plain client");
  (await Deno.connect({ port })).close();
  const closed = () => hub.metrics().counters.closed;
  await waitFor(
    () =>
      closed()[CloseReason.TlsHandshake] === 2 &&
      closed()[CloseReason.ClientClosed] === 1,
    "two failed handshakes and a hang-up",
  );
  assertEquals(hub.metrics().counters.errors, [0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(hub.stats.connections, 0);
});

Deno.test("tls: a token and TLS together", async () => {
  await using certs = await makeCerts();
  await using hub = await serve({
    port: 0,
    token: "s3cret",
    tls: { cert: certs.cert, key: certs.key },
  });
  const tls = { port: hub.addr.port, tls: true, caCerts: [certs.ca] };
  await using friend = await connect({ ...tls, token: "s3cret" });
  assertEquals(await friend.identity(), 1n);
  for (const options of [{ ...tls, token: "guess" }, tls]) {
    const refused = await assertRejects(() => connect(options), HubError);
    assertEquals(refused.code, 7);
  }
});

Deno.test("tls: options are checked before anything is dialled", async () => {
  await assertRejects(
    () => connect({ port: 1, caCerts: ["x"] }),
    TypeError,
    "caCerts needs tls: true",
  );
  for (
    const [tls, message] of [
      [{ cert: "", key: "k" }, 'Invalid option "tls.cert": it is missing'],
      [
        { cert: "not pem", key: "k" },
        'Invalid option "tls.cert": it is not PEM text',
      ],
      [
        { cert: "-----BEGIN CERTIFICATE-----", key: "" },
        'Invalid option "tls.key": it is missing',
      ],
    ] as const
  ) {
    const error = await assertRejects(
      () => serve({ port: 0, tls }),
      ConfigError,
    );
    assertStringIncludes(error.message, message);
  }
});

Deno.test("hub --tls-cert/--tls-key: both or neither, readable files", async () => {
  await using certs = await makeCerts();
  const options = await hubOptions([
    "--tls-cert",
    certs.certPath,
    "--tls-key",
    certs.keyPath,
  ]);
  assertEquals(options.tls, { cert: certs.cert, key: certs.key });
  await assertRejects(
    () => hubOptions(["--tls-cert", certs.certPath]),
    UsageError,
    "Option --tls-cert needs --tls-key as well",
  );
  await assertRejects(
    () => hubOptions(["--tls-key", certs.keyPath]),
    UsageError,
    "Option --tls-key needs --tls-cert as well",
  );
  await assertRejects(
    () =>
      hubOptions([
        "--tls-cert",
        `${certs.dir}/nope`,
        "--tls-key",
        certs.keyPath,
      ]),
    UsageError,
    "Cannot read --tls-cert",
  );
  // TLS hides the traffic but lets anyone in: a public address still needs a token.
  await assertRejects(
    () =>
      hubOptions([
        "--host",
        "0.0.0.0",
        "--tls-cert",
        certs.certPath,
        "--tls-key",
        certs.keyPath,
      ]),
    UsageError,
    "without a token",
  );
});

Deno.test("msghub client --tls --ca-cert against msghub hub --tls-cert --tls-key", async () => {
  await using certs = await makeCerts();
  const tokenFile = `${certs.dir}/token`;
  await Deno.writeTextFile(tokenFile, "s3cret\n");
  await using hub = await HubProcess.start(
    ["--tls-cert", certs.certPath, "--tls-key", certs.keyPath],
    { env: { MSGHUB_TOKEN: "s3cret" } },
  );
  const at = ["--host", "localhost", "--port", String(hub.port)];
  const trusted = [...at, "--tls", "--ca-cert", certs.caPath];
  const auth = ["--token-file", tokenFile];

  const identity = await run(["client", ...trusted, ...auth, "identity"]);
  assertEquals([identity.code, identity.stdout, identity.stderr], [
    0,
    "1\n",
    "",
  ]);
  const echo = await run(["client", ...trusted, ...auth, "echo", "hi", "tls"]);
  assertEquals(echo.stdout, "hi tls\n");

  const untrusted = await run(["client", ...at, "--tls", ...auth, "identity"]);
  assertEquals(untrusted.code, 1);
  assertEquals(untrusted.stdout, "");
  assertMatch(
    untrusted.stderr,
    /^msghub: cannot connect to localhost:\d+: TLS handshake failed: invalid peer certificate: UnknownIssuer\n$/,
  );
  const noToken = await run(["client", ...trusted, "identity"]);
  assertEquals([noToken.code, noToken.stderr], [
    1,
    "msghub: hub error 7: unauthorized\n",
  ]);
  const plain = await run(["client", ...at, ...auth, "identity"]);
  assertEquals(plain.code, 1);
  assertEquals(plain.stderr.split("\n").length, 2, "one line");

  const usage = await run(["client", "--ca-cert", certs.caPath, "identity"]);
  assertEquals(usage.code, 2);
  assertStringIncludes(usage.stderr, "option --ca-cert needs --tls");
});

Deno.test("msghub hub with half a key pair, or a key that is not one, does not start", async () => {
  await using certs = await makeCerts();
  const half = await run(["hub", "--port", "0", "--tls-cert", certs.certPath]);
  assertEquals(half.code, 2);
  assertStringIncludes(half.stderr, "needs --tls-key as well");
  const swapped = await run([
    "hub",
    "--port",
    "0",
    "--tls-cert",
    certs.keyPath,
    "--tls-key",
    certs.certPath,
  ]);
  assertEquals(swapped.code, 1);
  assertStringIncludes(
    swapped.stderr,
    'cannot start: Invalid option "--tls-cert": it is not PEM text',
  );
});

Deno.test("tls: a connection that never starts its handshake meets the handshake timeout", async () => {
  await using certs = await makeCerts();
  await using hub = await serve({
    port: 0,
    handshakeTimeout: 100,
    tls: { cert: certs.cert, key: certs.key },
  });
  const silent = await Deno.connect({ port: hub.addr.port });
  try {
    await waitFor(
      () => hub.metrics().counters.closed[CloseReason.HandshakeTimeout] === 1,
      "the handshake timeout",
    );
    assertEquals(hub.stats.connections, 0);
    // Deno keeps the socket itself open until the peer speaks or hangs up: it
    // finishes a TLS handshake before closing (README, "Operating a hub").
  } finally {
    silent.close();
  }
});
