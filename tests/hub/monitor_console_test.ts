/**
 * The web console in real browsers (headless Chromium and Firefox through
 * `puppeteer-core`): it shows the clients connected over TCP, its charts
 * move when traffic flows, the client table sorts from the keyboard, and
 * the token form unlocks a hub with a token. Also: the page's script passes
 * `deno check` (it is served as it is, with JSDoc types).
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { connect } from "../../client/mod.ts";
import { type Hub, serve, serveMetrics } from "../../hub/mod.ts";
import { RawClient } from "../_helpers.ts";
import {
  BROWSER_NAMES,
  browserUnavailable,
  launchBrowser,
  type Page,
} from "../../tools/_browser.ts";

/** The page's globals, as the functions evaluated in the page see them. */
declare const document: {
  getElementById(id: string): {
    hidden: boolean;
    dataset: Record<string, string | undefined>;
    textContent: string | null;
  } | null;
  querySelectorAll(selector: string): { length: number };
};

/** Each browser, and why it cannot run here (`null` when it can). */
const browsers = await Promise.all(
  BROWSER_NAMES.map(async (name) => {
    const missing = await browserUnavailable(name);
    if (missing !== null) {
      console.log(`Skipping the console's tests in ${name}: ${missing}`);
    }
    return { name, missing };
  }),
);

/** Generous: the machine may be busy; nothing here is timed, only awaited. */
const WAIT = 20_000;

/** Relays from `from` to `to` every few milliseconds until stopped. */
function traffic(hub: Hub): { stop(): Promise<void> } {
  let running = true;
  const done = (async () => {
    await using alice = await connect({ port: hub.addr.port });
    await using bob = await connect({ port: hub.addr.port });
    const bobId = await bob.identity();
    const reading = (async () => {
      for await (const _ of bob.messages()) { /* drained */ }
    })();
    while (running) {
      await alice.relayWithReceipt([bobId], "x".repeat(200));
    }
    await bob.close();
    await reading;
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}

/** The ids in the client table, in its order. */
function tableIds(page: Page): Promise<number[]> {
  return page.$$eval(
    "#clients tbody tr",
    (rows) => rows.map((r) => Number(r.getAttribute("data-id"))),
  );
}

Deno.test({
  name: "console: the page passes deno check (JSDoc types, DOM lib)",
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "hub/console/console.js"],
      cwd: new URL("../..", import.meta.url),
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    assert(output.success, new TextDecoder().decode(output.stderr));
  },
});

for (const { name, missing } of browsers) {
  Deno.test({
    name:
      `console: in ${name} it lists TCP clients, charts traffic, sorts, and asks for the token`,
    ignore: missing !== null,
    // The browser's own pipes and timers are not the test's.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      await using launched = await launchBrowser(name);
      const browser = launched.browser;

      await t.step(
        "clients over TCP, moving charts, keyboard sort",
        async () => {
          await using hub = await serve({ port: 0 });
          await using monitor = await serveMetrics(hub, { port: 0 });
          await using first = await RawClient.connect(hub.addr.port);
          await using second = await RawClient.connect(hub.addr.port);
          await first.send("identity\n");
          assertEquals(await first.line(), "identity 1");
          await second.send("echo " + "y".repeat(300) + "\n");
          await second.line();

          const page = await browser.newPage();
          const errors: string[] = [];
          page.on("pageerror", (e) => errors.push(String(e)));
          const opened = performance.now();
          await page.goto(`http://127.0.0.1:${monitor.addr.port}/`);
          await page.waitForSelector('#clients tbody tr[data-id="2"]', {
            timeout: WAIT,
          });
          console.log(
            `first data after ${Math.round(performance.now() - opened)} ms`,
          );
          assertEquals(await tableIds(page), [1, 2]);
          const remote = await page.$eval(
            '#clients tbody tr[data-id="1"] td:nth-child(2)',
            (td) => td.textContent,
          );
          const local = first.conn.localAddr as Deno.NetAddr;
          assertEquals(remote, `${local.hostname}:${local.port}`);
          assertStringIncludes(
            await page.$eval("#status", (e) => e.textContent ?? ""),
            "Live",
          );

          // Sort by bytes in, from the keyboard: Enter on the column's button.
          await page.focus('#clients th[data-key="bytes_in"] button');
          await page.keyboard.press("Enter");
          await page.waitForSelector(
            '#clients th[data-key="bytes_in"][aria-sort="ascending"]',
            { timeout: WAIT },
          );
          assertEquals(await tableIds(page), [1, 2]);
          await page.keyboard.press("Enter");
          await page.waitForSelector(
            '#clients th[data-key="bytes_in"][aria-sort="descending"]',
            { timeout: WAIT },
          );
          assertEquals(await tableIds(page), [2, 1]);

          // Quiet now: the charts' latest rates fall to 0 once a poll sees no traffic.
          await page.waitForFunction(
            () =>
              document.querySelectorAll("#chart-msgs path.in").length === 1 &&
              document.getElementById("chart-msgs")?.dataset.last === "0" &&
              document.getElementById("chart-bytes")?.dataset.last === "0",
            { timeout: WAIT },
          );
          const before = await page.$eval(
            "#chart-msgs path.in",
            (p) => p.getAttribute("d"),
          );
          const flow = traffic(hub);
          try {
            await page.waitForFunction(
              () =>
                Number(document.getElementById("chart-msgs")?.dataset.last) >
                  0 &&
                Number(document.getElementById("chart-bytes")?.dataset.last) >
                  0,
              { timeout: WAIT },
            );
          } finally {
            await flow.stop();
          }
          const after = await page.$eval(
            "#chart-msgs path.in",
            (p) => p.getAttribute("d"),
          );
          assert(after !== before, "the message chart moved");
          const label = await page.$eval(
            "#chart-msgs",
            (svg) => svg.getAttribute("aria-label") ?? "",
          );
          assertStringIncludes(label, "Messages per second: in ");
          // The traffic's two clients came and went: they are recent departures.
          await page.waitForFunction(
            () => document.querySelectorAll("#closes tbody tr").length >= 2,
            { timeout: WAIT },
          );
          const reasons = await page.$$eval(
            "#closes tbody tr td:nth-child(4)",
            (tds) => tds.map((td) => td.textContent),
          );
          assert(reasons.includes("client_closed"), reasons.join());
          assertEquals(errors, []);
          await page.close();
        },
      );

      await t.step("the token form unlocks a hub with a token", async () => {
        await using hub = await serve({ port: 0, token: "let-me-in" });
        await using monitor = await serveMetrics(hub, { port: 0 });
        await using client = await RawClient.connect(hub.addr.port);
        await client.send("auth let-me-in\n");
        assertEquals(await client.line(), "auth ok");

        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${monitor.addr.port}/`);
        await page.waitForSelector("#token-panel:not([hidden])", {
          timeout: WAIT,
        });
        // A wrong token is refused, and the form says so.
        await page.type("#token-input", "wrong");
        await page.keyboard.press("Enter");
        await page.waitForFunction(
          () =>
            !document.getElementById("token-panel")?.hidden &&
            (document.getElementById("token-error")?.textContent ?? "")
              .includes("refused"),
          { timeout: WAIT },
        );
        await page.type("#token-input", "let-me-in");
        await page.click("#token-form button");
        await page.waitForSelector('#clients tbody tr[data-id="1"]', {
          timeout: WAIT,
        });
        assert(
          await page.$eval("#token-panel", (p) => p.hasAttribute("hidden")),
        );
        assertEquals(
          await page.evaluate(() => sessionStorage.getItem("msghub.token")),
          "let-me-in",
        );
        await page.close();
      });
    },
  });
}
