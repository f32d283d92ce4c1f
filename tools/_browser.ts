/**
 * Headless browsers for the programs and tests that look at msghub in a real
 * browser (the console's screenshot, the browser and console tests):
 * Debian's `chromium` (over the DevTools protocol) and `firefox-esr` (over
 * WebDriver BiDi), driven by puppeteer-core, a fresh profile each time,
 * nothing fetched from the network.
 *
 * @module
 */
import type { Browser, Page } from "puppeteer-core";

export type { Browser, Page };

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Chromium's whole command line but the profile directory: headless, no GPU,
 * and nothing that reaches the network on its own (QUIC, updates, sync,
 * background fetches). `--no-sandbox` because CI runs as root in a container.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where Debian's `firefox-esr` package puts the browser. */
export const FIREFOX_PATH = "/usr/bin/firefox-esr";

/**
 * Firefox's whole command line but the profile directory (puppeteer adds the
 * remote-debugging port): headless, and no talking to other Firefox
 * instances.
 */
export const FIREFOX_ARGS: readonly string[] = ["--headless", "--no-remote"];

/**
 * Preferences written into Firefox's fresh profile, over puppeteer's own
 * (which already keep updates, Shield, safe browsing and the new-tab feeds
 * quiet): nothing that reaches the network on its own.
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  "app.update.auto": false,
  "app.update.enabled": false,
  "app.update.staging.enabled": false,
  "browser.newtabpage.activity-stream.feeds.telemetry": false,
  "browser.newtabpage.activity-stream.telemetry": false,
  "browser.ping-centre.telemetry": false,
  "browser.region.network.url": "",
  "browser.region.update.enabled": false,
  "browser.safebrowsing.provider.google4.updateURL": "",
  "browser.safebrowsing.provider.mozilla.updateURL": "",
  "browser.topsites.contile.enabled": false,
  "datareporting.usage.uploadEnabled": false,
  "extensions.blocklist.enabled": false,
  "extensions.systemAddon.update.enabled": false,
  "geo.provider.network.url": "",
  "identity.fxaccounts.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  "network.trr.mode": 5,
  "toolkit.telemetry.archive.enabled": false,
  "toolkit.telemetry.enabled": false,
  "toolkit.telemetry.server": "",
  "toolkit.telemetry.unified": false,
};

/** The browsers the tests can drive, by the names they print. */
export type BrowserName = "Chromium" | "Firefox";

/** Every {@linkcode BrowserName}, Chromium first. */
export const BROWSER_NAMES: readonly BrowserName[] = ["Chromium", "Firefox"];

/** How long Chromium may take to start and answer DevTools. */
const LAUNCH_TIMEOUT_MS = 10_000;

/** Firefox starts slower (a new profile is a few dozen files), so longer. */
const FIREFOX_LAUNCH_TIMEOUT_MS = 30_000;

type Puppeteer = typeof import("puppeteer-core").default;

let loaded: Promise<Puppeteer | string> | null = null;

/** puppeteer-core, or why it cannot be loaded (no npm access, say). */
function loadPuppeteer(): Promise<Puppeteer | string> {
  loaded ??= import("puppeteer-core").then(
    (module) => module.default,
    (error: unknown) =>
      `puppeteer-core cannot be loaded: ${
        error instanceof Error ? error.message : String(error)
      }`,
  );
  return loaded;
}

/**
 * Why browser tests cannot run on this machine, or `null` when they can:
 * the browser must be installed and puppeteer-core loadable. For Firefox,
 * which puppeteer drives over WebDriver BiDi, one headless launch must also
 * succeed (once per process), so an install that cannot be driven is a
 * reason too.
 *
 * @example Skip, saying why
 * ```ts ignore
 * const why = await browserUnavailable();
 * if (why !== null) console.log(`Skipping the browser tests: ${why}`);
 * Deno.test({ name: "in a browser", ignore: why !== null, fn() {} });
 * ```
 */
export async function browserUnavailable(
  name: BrowserName = "Chromium",
): Promise<string | null> {
  const [path, hint] = name === "Chromium"
    ? [
      CHROMIUM_PATH,
      `no Chromium at ${CHROMIUM_PATH} (Debian package "chromium"; .ci/run installs it)`,
    ]
    : [
      FIREFOX_PATH,
      `no Firefox at ${FIREFOX_PATH} (Debian package "firefox-esr"; .ci/run installs it)`,
    ];
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return `${path} is not a file`;
  } catch {
    return hint;
  }
  const puppeteer = await loadPuppeteer();
  if (typeof puppeteer === "string") return puppeteer;
  return name === "Firefox" ? await firefoxProbe() : null;
}

let probed: Promise<string | null> | null = null;

/** Whether Firefox starts and answers WebDriver BiDi: launched once, closed. */
function firefoxProbe(): Promise<string | null> {
  probed ??= (async () => {
    try {
      await using firefox = await Firefox.launch();
      await firefox.browser.version();
      return null;
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return `${FIREFOX_PATH} cannot be driven over WebDriver BiDi: ${
        why.replace(/\s+/g, " ").trim()
      }`;
    }
  })();
  return probed;
}

/**
 * Launches the browser named `name`, headless with a fresh profile.
 *
 * @example
 * ```ts ignore
 * for (const name of BROWSER_NAMES) {
 *   await using browser = await launchBrowser(name);
 *   const { page } = await browser.newPage();
 *   await page.goto("data:text/html,<p>hi</p>");
 * }
 * ```
 */
export function launchBrowser(name: BrowserName): Promise<HeadlessBrowser> {
  return name === "Chromium" ? Chromium.launch() : Firefox.launch();
}

/**
 * One headless browser with a fresh profile. Disposing it closes the
 * browser, kills its process if closing did not end it, and removes the
 * profile, so a failing test leaves nothing running.
 *
 * @example
 * ```ts ignore
 * await using browser = await launchBrowser("Firefox");
 * const { page, console } = await browser.newPage();
 * await page.goto("data:text/html,<p>hi</p>");
 * ```
 */
export class HeadlessBrowser implements AsyncDisposable {
  /** The puppeteer handle of the browser. */
  readonly browser: Browser;
  #profile: string;

  protected constructor(browser: Browser, profile: string) {
    this.browser = browser;
    this.#profile = profile;
  }

  /**
   * Runs `start` with a fresh profile directory named after `prefix`, and
   * removes the directory when starting fails.
   */
  protected static async start(
    prefix: string,
    start: (puppeteer: Puppeteer, profile: string) => Promise<Browser>,
  ): Promise<{ browser: Browser; profile: string }> {
    const puppeteer = await loadPuppeteer();
    if (typeof puppeteer === "string") throw new Error(puppeteer);
    const profile = await Deno.makeTempDir({ prefix });
    try {
      return { browser: await start(puppeteer, profile), profile };
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /**
   * A new tab. What its scripts log and throw is kept in `console` so a
   * failing assertion can show it.
   */
  async newPage(): Promise<{ page: Page; console: string[] }> {
    const page = await this.browser.newPage();
    const console: string[] = [];
    page.on("console", (message) => {
      console.push(`${message.type()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => {
      console.push(`uncaught: ${error instanceof Error ? error.stack : error}`);
    });
    return { page, console };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const process = this.browser.process();
    try {
      await this.browser.close();
    } catch {
      // Killed below.
    }
    if (process !== null && process.exitCode === null) {
      process.kill("SIGKILL");
      await new Promise((resolve) => process.once("exit", resolve));
    }
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/**
 * One headless Chromium with a fresh profile, over the DevTools protocol.
 *
 * @example
 * ```ts ignore
 * await using chromium = await Chromium.launch();
 * const { page } = await chromium.newPage();
 * await page.goto("data:text/html,<p>hi</p>");
 * ```
 */
export class Chromium extends HeadlessBrowser {
  /** Starts Chromium; throws when it cannot (see {@linkcode browserUnavailable}). */
  static async launch(): Promise<Chromium> {
    const { browser, profile } = await HeadlessBrowser.start(
      "msghub-chromium-",
      (puppeteer, profile) =>
        puppeteer.launch({
          executablePath: CHROMIUM_PATH,
          // Exactly our command line: puppeteer adds only the DevTools port.
          ignoreDefaultArgs: true,
          args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
          timeout: LAUNCH_TIMEOUT_MS,
          // puppeteer's own signal handlers would outlive the test.
          handleSIGINT: false,
          handleSIGTERM: false,
          handleSIGHUP: false,
        }),
    );
    return new Chromium(browser, profile);
  }
}

/**
 * One headless Firefox with a fresh profile, over WebDriver BiDi.
 *
 * @example
 * ```ts ignore
 * await using firefox = await Firefox.launch();
 * const { page } = await firefox.newPage();
 * await page.goto("data:text/html,<p>hi</p>");
 * ```
 */
export class Firefox extends HeadlessBrowser {
  /** Starts Firefox; throws when it cannot (see {@linkcode browserUnavailable}). */
  static async launch(): Promise<Firefox> {
    const { browser, profile } = await HeadlessBrowser.start(
      "msghub-firefox-",
      (puppeteer, profile) =>
        puppeteer.launch({
          browser: "firefox",
          executablePath: FIREFOX_PATH,
          // Exactly our command line: puppeteer adds only the BiDi port.
          ignoreDefaultArgs: true,
          args: [...FIREFOX_ARGS, "--profile", profile, "about:blank"],
          // puppeteer writes these (and its own) into the profile's user.js.
          extraPrefsFirefox: { ...FIREFOX_PREFS },
          timeout: FIREFOX_LAUNCH_TIMEOUT_MS,
          handleSIGINT: false,
          handleSIGTERM: false,
          handleSIGHUP: false,
        }),
    );
    return new Firefox(browser, profile);
  }
}
