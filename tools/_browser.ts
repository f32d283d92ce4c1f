/**
 * Headless Chromium for the programs and tests that look at msghub in a real
 * browser (the console's screenshot, the browser and console tests):
 * Debian's `chromium`, driven by puppeteer-core, a fresh profile each time,
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

/** How long Chromium may take to start and answer DevTools. */
const LAUNCH_TIMEOUT_MS = 10_000;

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
 * Chromium must be installed and puppeteer-core loadable.
 *
 * @example Skip, saying why
 * ```ts ignore
 * const why = await browserUnavailable();
 * if (why !== null) console.log(`Skipping the browser tests: ${why}`);
 * Deno.test({ name: "in a browser", ignore: why !== null, fn() {} });
 * ```
 */
export async function browserUnavailable(): Promise<string | null> {
  try {
    const info = await Deno.stat(CHROMIUM_PATH);
    if (!info.isFile) return `${CHROMIUM_PATH} is not a file`;
  } catch {
    return `no Chromium at ${CHROMIUM_PATH} (Debian package "chromium"; .ci/run installs it)`;
  }
  const puppeteer = await loadPuppeteer();
  return typeof puppeteer === "string" ? puppeteer : null;
}

/**
 * One headless Chromium with a fresh profile. Disposing it closes the
 * browser, kills its process if closing did not end it, and removes the
 * profile, so a failing test leaves nothing running.
 *
 * @example
 * ```ts ignore
 * await using chromium = await Chromium.launch();
 * const page = await chromium.newPage();
 * await page.goto("data:text/html,<p>hi</p>");
 * ```
 */
export class Chromium implements AsyncDisposable {
  /** The puppeteer handle of the browser. */
  readonly browser: Browser;
  #profile: string;

  private constructor(browser: Browser, profile: string) {
    this.browser = browser;
    this.#profile = profile;
  }

  /** Starts Chromium; throws when it cannot (see {@linkcode browserUnavailable}). */
  static async launch(): Promise<Chromium> {
    const puppeteer = await loadPuppeteer();
    if (typeof puppeteer === "string") throw new Error(puppeteer);
    const profile = await Deno.makeTempDir({ prefix: "msghub-chromium-" });
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: CHROMIUM_PATH,
        // Exactly our command line: puppeteer adds only the DevTools port.
        ignoreDefaultArgs: true,
        args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
        timeout: LAUNCH_TIMEOUT_MS,
        // puppeteer's own signal handlers would outlive the test.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
    return new Chromium(browser, profile);
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
