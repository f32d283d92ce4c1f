/**
 * Makes docs/console.png: a hub with a few clients and traffic that rises
 * and falls for half a minute, then the console in headless Chromium, its
 * "try it" panel joined to the hub over WebSocket and talking with a client.
 *
 *     deno task screenshot:console [SECONDS]
 *
 * @module
 */
import { connect } from "../../client/mod.ts";
import { serve, serveMetrics } from "../../hub/mod.ts";
import { browserUnavailable, Chromium } from "../browser.ts";

const seconds = Number(Deno.args[0] ?? 40);
if (!Number.isInteger(seconds) || seconds < 1) {
  console.error(
    "usage: deno task screenshot:console [SECONDS]  (traffic before the shot; default 40)",
  );
  Deno.exit(2);
}
const OUT = new URL("../../docs/console.png", import.meta.url);

const missing = await browserUnavailable();
if (missing !== null) {
  console.error(`Cannot take the screenshot: ${missing}`);
  Deno.exit(1);
}

await using hub = await serve({ port: 0, wsPort: 0 });
await using monitor = await serveMetrics(hub, { port: 0 });
const port = hub.addr.port;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Two text clients, as `msghub client` or telnet would be.
const typists = await Promise.all([1, 2].map(async () => {
  const conn = await Deno.connect({ port });
  await conn.write(new TextEncoder().encode("identity\n"));
  return conn;
}));
const drainText = typists.map(async (conn) => {
  const buf = new Uint8Array(64 * 1024);
  while ((await conn.read(buf).catch(() => null)) !== null) { /* drained */ }
});
const clients = await Promise.all(
  Array.from({ length: 5 }, () => connect({ port })),
);
const ids = await Promise.all(clients.map((c) => c.identity()));
const draining = clients.map(async (c) => {
  for await (const _ of c.messages()) { /* drained */ }
});

// A few that come and go, so that the departures table has reasons.
for (const line of ["quit\n", "\x1e\0\0\0\0", "auth x\n"]) {
  const conn = await Deno.connect({ port });
  await conn.write(new TextEncoder().encode(line));
  await conn.read(new Uint8Array(256)).catch(() => null);
  conn.close();
}

console.log(
  `traffic for ${seconds}s; the console is at http://127.0.0.1:${monitor.addr.port}/`,
);
const end = Date.now() + seconds * 1000;
let step = 0;
while (Date.now() < end) {
  // A wave: busier and quieter, so the charts have a shape.
  const burst = 20 + Math.round(60 * (1 + Math.sin(step / 30)));
  const sender = clients[step % clients.length]!;
  const sends = [];
  for (let i = 0; i < burst; i++) {
    sends.push(sender.relay(ids, "x".repeat(64 + (step % 5) * 200)));
  }
  await Promise.all(sends);
  step++;
  await sleep(100);
}

{
  await using chromium = await Chromium.launch();
  const page = await chromium.browser.newPage();
  await page.setViewport({ width: 1280, height: 1100, deviceScaleFactor: 1 });
  await page.emulateMediaFeatures([
    { name: "prefers-color-scheme", value: "light" },
  ]);
  await page.goto(`http://127.0.0.1:${monitor.addr.port}/`);
  await page.waitForSelector("#clients tbody tr", { timeout: 10_000 });
  // The try-it panel joins, and talks with the first client.
  await page.click("#try-join");
  await page.waitForFunction(
    `/^\\d+$/.test(document.getElementById("try-id")?.textContent ?? "")`,
    { timeout: 10_000 },
  );
  const panelId = BigInt(await page.$eval("#try-id", (e) => e.textContent!));
  await page.click(`#try-users li[data-id="${ids[0]}"] input`);
  await page.type("#try-text", "hello from the console");
  await page.click("#try-send");
  await clients[0]!.relay([panelId], "hi there, console");
  await clients[1]!.relay([panelId], "two lines:\nthe body keeps its newlines");
  await clients[2]!.relay([panelId], new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
  await page.waitForFunction(
    `document.querySelectorAll("#try-inbox li").length === 3`,
    { timeout: 10_000 },
  );
  // Keep the traffic going while the page polls a few times.
  for (let i = 0; i < 30; i++) {
    await Promise.all(
      Array.from({ length: 40 }, () => clients[0]!.relay(ids, "hello")),
    );
    await sleep(100);
  }
  const png = await page.screenshot({ fullPage: true, type: "png" });
  await Deno.writeFile(OUT, png);
  console.log(`wrote ${OUT.pathname}`);
}

for (const c of clients) await c.close();
await Promise.all(draining);
for (const conn of typists) conn.close();
await Promise.all(drainText);
