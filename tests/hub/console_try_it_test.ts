/**
 * The console's "try it" panel in real browsers (headless Chromium and
 * Firefox through `puppeteer-core`): with a hub that has a WebSocket listener, the panel
 * joins it from the page, shows its id, lists a TCP client, relays text to it
 * (chosen from the keyboard) and shows what the TCP client relays back,
 * binary bodies included. Without a listener it says how to start one; a
 * hub that refuses the page's origin gets a note naming the origin; a hub
 * with a token is joined with the console's token.
 */
import { assert, assertEquals, assertStringIncludes } from "../_assert.ts";
import { type Client, connect, type Message } from "../../client/mod.ts";
import { type HubOptions, serve, serveMetrics } from "../../hub/mod.ts";
import { deadline } from "../_helpers.ts";
import {
  BROWSER_NAMES,
  browserUnavailable,
  type HeadlessBrowser,
  launchBrowser,
  type Page,
} from "../../tools/_browser.ts";

/** Each browser, and why it cannot run here (`null` when it can). */
const browsers = await Promise.all(
  BROWSER_NAMES.map(async (name) => {
    const missing = await browserUnavailable(name);
    if (missing !== null) {
      console.log(`Skipping the try-it panel's tests in ${name}: ${missing}`);
    }
    return { name, missing };
  }),
);

/** Generous: the machine may be busy; nothing here is timed, only awaited. */
const WAIT = 20_000;

/**
 * Waits until `predicate`, an expression of `text` (the element's text),
 * holds for the element `selector`; fails with what the page shows and logged.
 */
async function waitText(
  page: Page,
  selector: string,
  predicate: string,
  log: string[],
): Promise<string> {
  const element = `document.querySelector(${JSON.stringify(selector)})`;
  try {
    await page.waitForFunction(
      `((text) => text !== null && (${predicate}))(${element}?.textContent ?? null)`,
      { polling: "mutation", timeout: WAIT },
    );
  } catch (error) {
    const now = await page.evaluate(`${element}?.textContent ?? null`);
    const state = await page.evaluate(
      `document.getElementById("try-state")?.textContent`,
    );
    throw new Error(
      `${selector} is ${JSON.stringify(now)}, waiting for ${predicate}; ` +
        `the panel says ${JSON.stringify(state)}; the page logged ` +
        JSON.stringify(log),
      { cause: error },
    );
  }
  return String(await page.evaluate(`${element}?.textContent ?? ""`));
}

/** A hub with a monitoring port, and the console open on it. */
async function open(
  browser: HeadlessBrowser,
  options: HubOptions,
  before?: (page: Page) => Promise<void>,
) {
  const hub = await serve({ port: 0, ...options });
  const monitor = await serveMetrics(hub, { port: 0 });
  const { page, console: log } = await browser.newPage();
  await before?.(page);
  await page.goto(`http://127.0.0.1:${monitor.addr.port}/`);
  return {
    hub,
    page,
    log,
    /** `/connz/ID` of the monitoring port, as JSON. */
    async connz(id: number, token?: string): Promise<Record<string, unknown>> {
      const response = await fetch(
        `http://127.0.0.1:${monitor.addr.port}/connz/${id}`,
        { headers: token ? { authorization: `Bearer ${token}` } : {} },
      );
      assertEquals(response.status, 200, `/connz/${id}`);
      return await response.json();
    },
    async [Symbol.asyncDispose]() {
      await page.close();
      await monitor.shutdown();
      await hub.shutdown();
    },
  };
}

/** The next message `client` receives, within the deadline. */
async function next(
  inbox: AsyncIterator<Message>,
  what: string,
): Promise<Message> {
  const result = await deadline(inbox.next(), WAIT, what);
  assert(!result.done, `${what}: the inbox ended`);
  return result.value;
}

Deno.test({
  name: "console try-it: the page passes deno check, text dialect included",
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "hub/console/try_it.js", "hub/console/text_dialect.js"],
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
      `console try-it: in ${name} it joins over WebSocket, lists, relays to and from a TCP client`,
    ignore: missing !== null,
    // The browser's own pipes and timers are not the test's.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      await using browser = await launchBrowser(name);

      await t.step("joins, lists, relays both ways", async () => {
        await using session = await open(browser, { wsPort: 0 });
        const { hub, page, log } = session;
        await using tcp: Client = await connect({ port: hub.addr.port });
        const tcpId = Number(await tcp.identity());
        const inbox = tcp.messages();

        await page.waitForSelector("#try-on:not([hidden])", { timeout: WAIT });
        assert(await page.$eval("#try-off", (e) => e.hasAttribute("hidden")));
        const url = await waitText(
          page,
          "#try-url",
          "text.startsWith('ws://')",
          log,
        );
        assertStringIncludes(url, `:${hub.wsAddr!.port}/`);

        // Join from the keyboard.
        await page.focus("#try-join");
        await page.keyboard.press("Enter");
        const panelId = Number(
          await waitText(page, "#try-id", "/^\\d+$/.test(text)", log),
        );
        assert(panelId !== tcpId, "the panel has an id of its own");
        assertStringIncludes(
          await waitText(page, "#try-state", "text.startsWith('Joined')", log),
          `Joined as client ${panelId}`,
        );
        // The hub sees a WebSocket text client with that id.
        const seen = await session.connz(panelId);
        assertEquals([seen.transport, seen.dialect], ["ws", "text"]);

        // The list shows the TCP client, not the panel itself.
        await page.waitForSelector(`#try-users li[data-id="${tcpId}"]`, {
          timeout: WAIT,
        });
        assertEquals(
          await page.$$eval(
            "#try-users li",
            (items) => items.map((i) => Number(i.getAttribute("data-id"))),
          ),
          [tcpId],
        );

        // Choose it with the keyboard (Space on its checkbox): the To field follows.
        await page.focus(`#try-users li[data-id="${tcpId}"] input`);
        // " ", not "Space": puppeteer's WebDriver BiDi keyboard knows only the former.
        await page.keyboard.press(" ");
        assertEquals(
          await page.$eval(
            "#try-to",
            (e) => (e as unknown as { value: string }).value,
          ),
          String(tcpId),
        );
        await page.focus("#try-text");
        await page.keyboard.type("hello from the console ☃");
        await page.keyboard.press("Enter");
        const got = await next(inbox, "the panel's relay");
        assertEquals(got.sender, BigInt(panelId));
        assertEquals(
          new TextDecoder().decode(got.body),
          "hello from the console ☃",
        );
        await waitText(
          page,
          "#try-result",
          "text === 'Relayed to 1 of 1'",
          log,
        );
        assertEquals(
          await page.$eval(
            "#try-text",
            (e) => (e as unknown as { value: string }).value,
          ),
          "",
        );

        // A typed list with an unknown id: the receipt names it.
        await page.$eval("#try-to", (e) => {
          (e as unknown as { value: string }).value = "";
        });
        await page.type("#try-to", `${tcpId}, 200`);
        await page.type("#try-text", "again");
        await page.click("#try-send");
        assertEquals(
          new TextDecoder().decode(
            (await next(inbox, "the second relay")).body,
          ),
          "again",
        );
        await waitText(
          page,
          "#try-result",
          "text === 'Relayed to 1 of 2; unknown: 200'",
          log,
        );
        // The typed id checked the box.
        assert(
          await page.$eval(
            `#try-users li[data-id="${tcpId}"] input`,
            (e) => (e as unknown as { checked: boolean }).checked,
          ),
        );

        // The TCP client relays to the panel: lines, then a body that is not UTF-8.
        await tcp.relay([BigInt(panelId)], "hi panel\nsecond line");
        await page.waitForSelector(`#try-inbox li[data-sender="${tcpId}"]`, {
          timeout: WAIT,
        });
        assertEquals(
          await page.$eval("#try-inbox li .body", (e) => e.textContent),
          "hi panel\nsecond line",
        );
        assertEquals(
          await page.$eval("#try-inbox li .from", (e) => e.textContent),
          `from ${tcpId}`,
        );
        await tcp.relay([BigInt(panelId)], new Uint8Array([0xff, 0xfe, 0x0a]));
        await waitText(
          page,
          "#try-inbox li:first-child .body",
          "text === '3 bytes (binary)'",
          log,
        );
        assertEquals(
          await page.$eval("#try-inbox", (e) => e.getAttribute("aria-live")),
          "polite",
        );

        // Another client arrives: "List users" shows it.
        await using other = await connect({ port: hub.addr.port });
        const otherId = Number(await other.identity());
        await page.click("#try-list");
        await page.waitForSelector(`#try-users li[data-id="${otherId}"]`, {
          timeout: WAIT,
        });
        assertEquals(
          await page.$$eval(
            "#try-users li",
            (items) => items.map((i) => Number(i.getAttribute("data-id"))),
          ),
          [tcpId, otherId].sort((a, b) => a - b),
        );

        // Leave: the hub sees the panel go.
        await page.click("#try-join");
        await waitText(page, "#try-state", "text === 'Left the hub'", log);
        await waitText(page, "#try-id", "text === '–'", log);
        assertEquals(
          log.filter((l) => l.startsWith("uncaught") || l.startsWith("error")),
          [],
        );
      });

      await t.step(
        "without a WebSocket listener it says how to start one",
        async () => {
          await using session = await open(browser, {});
          const { page, log } = session;
          await page.waitForSelector(
            "#try-it:not([hidden]) #try-off:not([hidden])",
            {
              timeout: WAIT,
            },
          );
          assertStringIncludes(
            await waitText(page, "#try-off", "text !== ''", log),
            "--ws-port",
          );
          assert(await page.$eval("#try-on", (e) => e.hasAttribute("hidden")));
        },
      );

      await t.step(
        "a hub that refuses the page's origin: the panel names it",
        async () => {
          await using session = await open(browser, {
            wsPort: 0,
            wsOrigins: ["https://elsewhere.example"],
          });
          const { page, log } = session;
          await page.waitForSelector("#try-on:not([hidden])", {
            timeout: WAIT,
          });
          await page.click("#try-join");
          const state = await waitText(
            page,
            "#try-state",
            "text.startsWith('Could not join')",
            log,
          );
          assertStringIncludes(state, "--ws-origin");
          const origin = await page.evaluate("location.origin");
          assertStringIncludes(state, String(origin));
          assertEquals(
            await page.$eval("#try-join", (e) => e.textContent),
            "Join",
          );
        },
      );

      await t.step(
        "a hub with a token: the panel authenticates with the console's",
        async () => {
          await using session = await open(
            browser,
            { wsPort: 0, token: "open-sesame" },
            (page) =>
              page.evaluateOnNewDocument(
                `sessionStorage.setItem("msghub.token", "open-sesame")`,
              ).then(() => {}),
          );
          const { page, log } = session;
          await page.waitForSelector("#try-on:not([hidden])", {
            timeout: WAIT,
          });
          await page.click("#try-join");
          const id = Number(
            await waitText(page, "#try-id", "/^\\d+$/.test(text)", log),
          );
          await waitText(page, "#try-state", "text.startsWith('Joined')", log);
          const seen = await session.connz(id, "open-sesame");
          assertEquals([seen.transport, seen.authenticated], ["ws", true]);
        },
      );
    },
  });
}
