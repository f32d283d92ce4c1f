/**
 * The browser build in a real browser: headless Chromium loads the README's
 * example page, which joins a hub over WebSocket, shows its id, relays to a
 * TCP client and shows what the TCP client relays back. The page is read from
 * the README itself, so the README's example is what is tested.
 */
import { connect } from "../client/mod.ts";
import { type HubOptions, serve } from "../hub/mod.ts";
import {
  browserUnavailable,
  buildBrowserBundle,
  Chromium,
  type Page,
  PageServer,
} from "./_browser.ts";
import { deadline, LogRecorder, text } from "./_helpers.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";

/** How long the page may take for each step it is waited for. */
const STEP_MS = 5_000;

const unavailable = await browserUnavailable();
if (unavailable !== null) {
  console.log(`Skipping the browser tests: ${unavailable}`);
}

/**
 * The HTML block of the README's "Browsers and WebSocket" section: the page
 * these tests load.
 */
async function readmePage(): Promise<string> {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const section = readme.split(/^## /m).find((part) =>
    part.startsWith("Browsers and WebSocket")
  );
  assert(
    section !== undefined,
    'README has a "Browsers and WebSocket" section',
  );
  const blocks = [...section.matchAll(/^```html\n([\s\S]*?)^```$/gm)];
  assertEquals(blocks.length, 1, "html blocks in the browser section");
  return blocks[0]![1]!;
}

/** Serves the README's page as `/` and the browser build as `/msghub.js`. */
async function servePage(): Promise<PageServer> {
  const [page, bundle] = await Promise.all([
    readmePage(),
    buildBrowserBundle(),
  ]);
  return new PageServer({
    "/index.html": { type: "text/html; charset=utf-8", body: page },
    "/msghub.js": { type: "text/javascript; charset=utf-8", body: bundle },
  });
}

/** The text of the element with this id, once `ready` holds for it. */
async function textOf(
  page: Page,
  id: string,
  ready: string,
  log: string[],
): Promise<string> {
  // A string, run in the page: this file has no DOM types. Mutation polling
  // answers as the page changes, with no timer.
  const element = `document.getElementById(${JSON.stringify(id)})`;
  try {
    await page.waitForFunction(
      `((text) => ${ready})(${element}?.textContent ?? "")`,
      { polling: "mutation", timeout: STEP_MS },
    );
  } catch (error) {
    const now = await page.evaluate(`${element}?.textContent`);
    throw new Error(
      `The page's #${id} is ${JSON.stringify(now)}, waiting for ${ready}; ` +
        `its console: ${JSON.stringify(log)}`,
      { cause: error },
    );
  }
  return String(await page.evaluate(`${element}.textContent`));
}

/**
 * Opens the page against `hub`'s WebSocket port and waits until it shows
 * its id, or the error it got.
 */
async function openPage(
  chromium: Chromium,
  server: PageServer,
  wsPort: number,
): Promise<{ page: Page; console: string[]; status: string }> {
  const { page, console } = await chromium.newPage();
  const hub = `ws://127.0.0.1:${wsPort}/`;
  await page.goto(`${server.origin}/?hub=${encodeURIComponent(hub)}`, {
    timeout: STEP_MS,
  });
  const status = await textOf(
    page,
    "me",
    'text !== "connecting…"',
    console,
  );
  return { page, console, status };
}

/**
 * The whole round: the page's id is a user's, the TCP client gets what the
 * page relays with that id as sender, and the page shows what it gets back.
 */
async function roundTrip(options: HubOptions, server: PageServer) {
  await using hub = await serve({ port: 0, wsPort: 0, ...options });
  await using tcp = await connect({ port: hub.addr.port });
  const tcpId = await tcp.identity();
  await using chromium = await Chromium.launch();
  const { page, console, status } = await openPage(
    chromium,
    server,
    hub.wsAddr!.port,
  );
  const match = /^I am (\d+)$/.exec(status);
  assert(match, `the page shows its id, not ${JSON.stringify(status)}`);
  const browserId = BigInt(match[1]!);
  assertEquals(await tcp.list(), [browserId], "the hub lists the page");

  await page.type("input[name=to]", String(tcpId));
  await page.type("input[name=body]", "hello from the browser");
  const received = deadline(
    (async () => {
      for await (const message of tcp) return message;
      throw new Error("The TCP client's connection ended");
    })(),
    STEP_MS,
    "the page's relay",
  );
  await page.click("button");
  const { sender, body } = await received;
  assertEquals(
    [sender, text(body)],
    [browserId, "hello from the browser"],
    `the page's console: ${JSON.stringify(console)}`,
  );

  await tcp.relay([browserId], "hello from tcp");
  const log = await textOf(page, "log", 'text.includes("\\n")', console);
  assertEquals(log, `${tcpId}: hello from tcp\n`);
}

Deno.test({
  name:
    "browser: the README's page joins the hub, relays to a TCP client and shows its relay",
  ignore: unavailable !== null,
  async fn() {
    await using server = await servePage();
    await roundTrip({}, server);
  },
});

Deno.test({
  name: "browser: a hub that allows the page's origin takes it",
  ignore: unavailable !== null,
  async fn() {
    await using server = await servePage();
    await roundTrip({ wsOrigins: [server.origin] }, server);
  },
});

Deno.test({
  name:
    "browser: a hub that does not allow the page's origin refuses it, and the page says so",
  ignore: unavailable !== null,
  async fn() {
    await using server = await servePage();
    const log = new LogRecorder();
    await using hub = await serve({
      port: 0,
      wsPort: 0,
      wsOrigins: ["https://chat.example.com"],
      logger: log.logger,
    });
    await using tcp = await connect({ port: hub.addr.port });
    await using chromium = await Chromium.launch();
    const port = hub.wsAddr!.port;
    const { status } = await openPage(chromium, server, port);
    assertStringIncludes(
      status,
      `ConnectError: Cannot connect to 127.0.0.1:${port}`,
    );
    // Refused for its origin, not for anything else.
    await log.next("close", { reason: "websocket upgrade refused" });
    const [refusal] = log.find("close", {
      reason: "websocket upgrade refused",
    });
    assertStringIncludes(
      String(refusal!.fields.error),
      `origin "${server.origin}" is not allowed`,
    );
    assertEquals(await tcp.list(), [], "the hub has no other client");
  },
});
