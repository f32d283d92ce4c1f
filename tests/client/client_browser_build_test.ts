/**
 * The browser build: `deno task build:browser` makes one ES module without
 * the TCP transport, and that file works under Node against a hub's
 * WebSocket listener.
 */
import { connect } from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import { deadline, text } from "../_helpers.ts";
import { assert, assertEquals } from "../_client_helpers.ts";
import { buildBrowserBundle } from "../_browser.ts";

const ROOT = new URL("../../", import.meta.url);
const BUNDLE = new URL("dist/msghub.js", ROOT);

/**
 * The node binary's flags for a global WebSocket, or why it cannot run the
 * test: Node 22+ has one; Node 20.10 to 21 have it behind a flag.
 */
async function nodeWebSocket(): Promise<{ flags: string[] } | string> {
  let version: string;
  try {
    const output = await new Deno.Command("node", {
      args: ["--version"],
      stdin: "null",
    }).output();
    version = new TextDecoder().decode(output.stdout).trim();
  } catch (error) {
    return `no node on PATH (${
      error instanceof Error ? error.message : error
    })`;
  }
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(
    Number,
  );
  if (major >= 22) return { flags: [] };
  if (major > 20 || (major === 20 && minor >= 10)) {
    console.log(
      `node ${version} is older than 22: running with --experimental-websocket for its global WebSocket`,
    );
    return { flags: ["--experimental-websocket"] };
  }
  return `node ${version} has no global WebSocket (Node 22+, or 20.10+ with a flag)`;
}

Deno.test("build:browser makes one ES module without the TCP transport or Deno.*", async () => {
  const bundle = await buildBrowserBundle();
  // esbuild names each module it bundles in a comment: tcp.ts is not one.
  assert(
    bundle.includes("// client/websocket.ts"),
    "the WebSocket transport is in",
  );
  assert(bundle.includes("// client/client.ts"), "the client is in");
  assert(!bundle.includes("client/tcp.ts"), "the TCP transport is left out");
  assert(!bundle.includes("client/connect.ts"), "the Deno connect is left out");
  // Code, not comments, must not name Deno: strip the comments first.
  const code = bundle.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /^\s*\/\/.*$/gm,
    "",
  );
  const uses = code.split("\n").filter((line) => /\bDeno\b/.test(line));
  assertEquals(uses, [], "lines of code that use Deno");
  assert(/^export \{/m.test(bundle), "an ES module with exports");
});

Deno.test("the browser build under node: id, relays both ways with a TCP client, receipts", async () => {
  const node = await nodeWebSocket();
  if (typeof node === "string") {
    console.log(`Skipped: ${node}`);
    return;
  }
  await buildBrowserBundle();
  await using hub = await serve({ port: 0, wsPort: 0 });
  await using tcp = await connect({ port: hub.addr.port });
  const tcpId = await tcp.identity();
  const script = `
    const { connect, HubError } = await import(process.env.MSGHUB_MODULE);
    const tcpOnly = await connect("msghub://127.0.0.1:1").then(() => "connected", (e) => e.name);
    const client = await connect(process.env.MSGHUB_URL);
    const id = await client.identity();
    const out = (value) => console.log(JSON.stringify(value));
    out({ id: String(id), type: typeof id, tcpOnly });
    const receipt = await client.relayWithReceipt([BigInt(process.env.TCP_ID), 424242n], "from node");
    out({ delivered: receipt.delivered, unknown: receipt.unknown.map(String) });
    for await (const { sender, body } of client) {
      out({ sender: String(sender), body: new TextDecoder().decode(body) });
      break;
    }
    await client.close();
    out({ closed: true });
  `;
  const child = new Deno.Command("node", {
    args: [...node.flags, "--input-type=module", "-e", script],
    env: {
      MSGHUB_MODULE: BUNDLE.href,
      MSGHUB_URL: `ws://127.0.0.1:${hub.wsAddr!.port}/msghub`,
      TCP_ID: String(tcpId),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const errors: string[] = [];
  const collecting = (async () => {
    for await (const chunk of stderr) errors.push(chunk);
  })();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  /** The next line node printed, parsed as JSON. */
  const next = (): Promise<Record<string, unknown>> =>
    deadline(
      (async () => {
        while (!pending.includes("\n")) {
          const chunk = await stdout.read();
          if (chunk.done) {
            throw new Error(`node ended early: ${errors.join("")}`);
          }
          pending += chunk.value;
        }
        const end = pending.indexOf("\n");
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        return JSON.parse(line);
      })(),
      20_000,
      "a line from node",
    );
  try {
    const hello = await next();
    assertEquals(hello.type, "bigint");
    assertEquals(hello.tcpOnly, "TypeError");
    const nodeId = BigInt(hello.id as string);
    assertEquals(await tcp.list(), [nodeId]);
    assertEquals(await next(), { delivered: 1, unknown: ["424242"] });
    for await (const { sender, body } of tcp) {
      assertEquals([sender, text(body)], [nodeId, "from node"]);
      break;
    }
    await tcp.relay([nodeId], "from tcp");
    assertEquals(await next(), { sender: String(tcpId), body: "from tcp" });
    assertEquals(await next(), { closed: true });
    const status = await deadline(child.status, 20_000, "node to exit");
    await collecting;
    assertEquals(status.code, 0, errors.join(""));
  } finally {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
    await child.status;
    await stdout.cancel().catch(() => {});
  }
});
