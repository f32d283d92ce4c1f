/**
 * `msghub client` over TLS with certificates made by `openssl`: the
 * README's recipe (a CA and a leaf signed by it) works as written, and a
 * self-signed certificate from `openssl req -x509` alone, which is marked
 * as a CA, is refused with a message that says why.
 */
import { serve } from "../../hub/mod.ts";
import { text } from "../_helpers.ts";
import { assert, assertEquals } from "../_assert.ts";
import { run } from "./_client_helpers.ts";

const README = new URL("../../README.md", import.meta.url);

/** Runs `script` with `sh -e` in `dir`; throws with its stderr on failure. */
async function sh(dir: string, script: string): Promise<void> {
  const out = await new Deno.Command("sh", {
    args: ["-e", "-c", script],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`sh failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** The README's `sh` block that makes a CA and a leaf. */
async function readmeRecipe(): Promise<string> {
  const readme = await Deno.readTextFile(README);
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((match) => match[1]!)
    .filter((block) => block.includes("openssl x509 -req"));
  assertEquals(blocks.length, 1, "one openssl recipe in the README");
  return blocks[0]!;
}

Deno.test("the README's openssl recipe makes a CA and a leaf that a client trusts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "msghub-recipe-" });
  try {
    await sh(dir, await readmeRecipe());
    await using hub = await serve({
      port: 0,
      tls: {
        cert: await Deno.readTextFile(`${dir}/hub.crt`),
        key: await Deno.readTextFile(`${dir}/hub.key`),
      },
    });
    const port = hub.addr.port;
    const ca = ["--ca-cert", `${dir}/ca.pem`];
    const byUrl = await run([
      "--url",
      `msghubs://localhost:${port}`,
      ...ca,
      "echo",
      "trusted",
    ]);
    assertEquals([byUrl.code, text(byUrl.stdout), byUrl.stderr], [
      0,
      "trusted\n",
      "",
    ]);
    const byAddress = await run(["--tls", "-p", `${port}`, ...ca, "identity"]);
    assertEquals([byAddress.code, byAddress.stderr], [0, ""]);
    // The CA itself is not the hub's certificate: without it, no trust.
    const untrusted = await run([
      "--url",
      `msghubs://localhost:${port}`,
      "list",
    ]);
    assertEquals(untrusted.code, 1);
    assert(untrusted.stderr.includes("UnknownIssuer"), untrusted.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a self-signed certificate from openssl req -x509 is refused with an explanation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "msghub-selfsigned-" });
  try {
    // What people try first; openssl marks it CA:TRUE.
    await sh(
      dir,
      `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\
        -days 2 -subj /CN=localhost \\
        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \\
        -keyout key.pem -out cert.pem`,
    );
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    await using hub = await serve({
      port: 0,
      tls: { cert, key: await Deno.readTextFile(`${dir}/key.pem`) },
    });
    const port = hub.addr.port;
    const out = await run([
      "--url",
      `msghubs://localhost:${port}`,
      "--ca-cert",
      `${dir}/cert.pem`,
      "identity",
    ]);
    assertEquals([out.code, out.stderr, text(out.stdout)], [
      1,
      `msghub: cannot connect to localhost:${port}: TLS handshake failed: the certificate is a CA certificate used as a server certificate (CaUsedAsEndEntity); make a leaf certificate signed by a CA, or one with basicConstraints=CA:FALSE; see README\n`,
      "",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
