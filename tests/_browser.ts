/**
 * Helpers of the tests that run in a real browser: Chromium (from
 * `tools/_browser.ts`, which the console's screenshot shares), the browser
 * build of the client library, and a tiny HTTP server for the pages they load.
 */
export {
  type Browser,
  browserUnavailable,
  Chromium,
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  type Page,
} from "../tools/_browser.ts";

/** A file a {@linkcode PageServer} serves. */
export interface PageFile {
  /** The `Content-Type`. */
  type: string;
  /** The content. */
  body: string;
}

/**
 * A tiny HTTP server on 127.0.0.1, port 0, that serves fixed files by path
 * (`/` and `/index.html` are the same); anything else is a 404.
 */
export class PageServer implements AsyncDisposable {
  #server: Deno.HttpServer<Deno.NetAddr>;
  /** Where the pages are, `http://127.0.0.1:PORT`: the pages' origin too. */
  readonly origin: string;

  /** Starts serving `files`, keyed by path (`"/msghub.js"`). */
  constructor(files: Record<string, PageFile>) {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
    }, (request) => {
      let path = new URL(request.url).pathname;
      if (path === "/") path = "/index.html";
      const file = files[path];
      return file === undefined
        ? new Response("Not found", { status: 404 })
        : new Response(file.body, {
          headers: { "content-type": file.type, "cache-control": "no-store" },
        });
    });
    this.origin = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

const ROOT = new URL("../", import.meta.url);

let bundle: Promise<string> | null = null;

/**
 * Runs `deno task build:browser` (once per test file) and returns
 * `dist/msghub.js`. It always builds, which takes a fraction of a second: a
 * bundle left from older sources would test the wrong code.
 */
export function buildBrowserBundle(): Promise<string> {
  bundle ??= (async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "build:browser"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    if (!output.success) {
      const errors = new TextDecoder().decode(output.stderr);
      throw new Error(`Cannot build the browser bundle: ${errors}`);
    }
    return await Deno.readTextFile(new URL("dist/msghub.js", ROOT));
  })();
  return bundle;
}
