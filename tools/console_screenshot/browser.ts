/**
 * Headless Chromium for the console's tests and its screenshot, driven by
 * `puppeteer-core` over the DevTools protocol: Debian's `chromium`, a fresh
 * profile each time, nothing fetched from the network.
 */
import puppeteer, { type Browser } from "puppeteer-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = Deno.env.get("MSGHUB_CHROMIUM") ?? "/usr/bin/chromium";

/** Why the browser tests cannot run here, or `null` when they can. */
export function browserMissing(): string | null {
  try {
    Deno.statSync(CHROMIUM);
    return null;
  } catch {
    return `no Chromium at ${CHROMIUM} (set MSGHUB_CHROMIUM to another)`;
  }
}

/** A headless Chromium with a profile of its own, removed when it closes. */
export async function launchBrowser(): Promise<
  { browser: Browser; [Symbol.asyncDispose](): Promise<void> }
> {
  const profile = await Deno.makeTempDir({ prefix: "msghub-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
