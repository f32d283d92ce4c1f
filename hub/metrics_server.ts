/**
 * The hub's HTTP side for operators, on the monitoring port: the web console
 * at `/`, `/hubz` and `/connz` (JSON), `/metrics` for Prometheus and
 * `/healthz` for load balancers and supervisors. Everything is computed when
 * a request arrives (and the rates once a second), so the endpoint costs
 * nothing per message. With a token, `/hubz`, `/connz` and `/metrics` need
 * `Authorization: Bearer TOKEN`; the console's files and `/healthz` hold no
 * data and stay open.
 *
 * @module
 */
import consoleCss from "./console/console.css" with { type: "text" };
import consoleHtml from "./console/index.html" with { type: "text" };
import consoleJs from "./console/console.js" with { type: "text" };
import chartsJs from "./console/charts.js" with { type: "text" };
import formatJs from "./console/format.js" with { type: "text" };
import textDialectJs from "./console/text_dialect.js" with { type: "text" };
import tryItJs from "./console/try_it.js" with { type: "text" };
import {
  EXPOSITION_CONTENT_TYPE,
  formatMetrics,
  formatProcessMetrics,
} from "./exposition.ts";
import { Hub, hubInternals } from "./hub.ts";
import type { HubLogger } from "./log.ts";
import { connz, connzOne, type JsonAnswer } from "./monitor/connz.ts";
import { buildHubz } from "./monitor/hubz.ts";
import { formatAddress, listenOn } from "./monitor/listen_error.ts";
import { processStats } from "./monitor/process.ts";
import { History, sampleOf } from "./monitor/rates.ts";
import type { MonitorSource } from "./monitor/source.ts";
import { VERSION } from "./monitor/version.ts";

/** Options of {@linkcode serveMetrics} and {@linkcode listenMetrics}. */
export interface MetricsOptions {
  /** Address to listen on. Default `127.0.0.1`: metrics need no wider audience. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one. */
  port: number;
}

/** Options of {@linkcode listenMetrics}: where, and where its log goes. */
export interface ListenMetricsOptions extends MetricsOptions {
  /** Receives the listening line and request failures. Default: nowhere. */
  logger?: HubLogger;
}

/** Seconds of samples kept for the console's charts. */
const HISTORY_SECONDS = 300;

/**
 * Starts the monitoring endpoint of `hub` and resolves once it listens:
 * `GET /metrics` answers the Prometheus text format (0.0.4) built from
 * {@linkcode Hub.metrics} at that moment, `GET /healthz` answers 200 `ok`,
 * or 503 once the hub is shutting down, `GET /hubz` and `GET /connz` answer
 * JSON and `GET /` the web console. Prints nothing; logs its address
 * through the hub's logger. A taken port rejects with `Deno.errors.AddrInUse`
 * naming the address.
 *
 * @example Scrape a hub
 * ```ts
 * import { serve, serveMetrics } from "./mod.ts";
 * await using hub = await serve({ port: 0 });
 * await using metrics = await serveMetrics(hub, { port: 0 });
 * const url = `http://127.0.0.1:${metrics.addr.port}/metrics`;
 * const page = await (await fetch(url)).text();
 * if (!page.includes("msghub_connections 0")) throw new Error(page);
 * ```
 */
export function serveMetrics(
  hub: Hub,
  options: MetricsOptions,
): Promise<MetricsServer> {
  const source = hubInternals(hub).monitor();
  try {
    const server = listenMetrics({ ...options, logger: source.log });
    server.attach(source);
    return Promise.resolve(server);
  } catch (error) {
    // A taken port rejects, as from an async function.
    return Promise.reject(error);
  }
}

/**
 * Binds the monitoring endpoint before there is a hub to show, so that a
 * taken port stops `msghub hub` before the hub listens; until
 * {@linkcode MetricsServer.attach} it serves the console's files and answers
 * 503 to the rest. Throws at once when the port cannot be bound.
 *
 * @example Bind first, then attach the hub
 * ```ts
 * import { listenMetrics, serve } from "./mod.ts";
 * await using metrics = listenMetrics({ port: 0 });
 * const health = `http://127.0.0.1:${metrics.addr.port}/healthz`;
 * if ((await fetch(health)).status !== 503) throw new Error("Expected 503");
 * await using hub = await serve({ port: 0 });
 * metrics.attach(hub);
 * if ((await fetch(health)).status !== 200) throw new Error("Expected 200");
 * ```
 */
export function listenMetrics(options: ListenMetricsOptions): MetricsServer {
  const log: HubLogger = (level, message, fields) => {
    try {
      options.logger?.(level, message, fields);
    } catch {
      // A failing logger must not fail a request.
    }
  };
  const address = {
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
  };
  let monitor: MetricsServer | null = null;
  const server = listenOn(address, () =>
    Deno.serve({
      ...address,
      // Deno.serve would print its own listening line on stdout.
      onListen: () => {},
      onError: (error) => {
        log("error", "metrics request failed", { error: String(error) });
        return new Response("internal error", { status: 500 });
      },
    }, (request) => monitor!.respond(request)));
  monitor = new MetricsServer(server);
  log("info", "metrics listening", { address: formatAddress(monitor.addr) });
  return monitor;
}

/**
 * A running monitoring endpoint; {@linkcode serveMetrics} or
 * {@linkcode listenMetrics} starts one.
 *
 * @example Stop it before the hub
 * ```ts
 * import { serve, serveMetrics } from "./mod.ts";
 * const hub = await serve({ port: 0 });
 * const metrics = await serveMetrics(hub, { port: 0 });
 * await metrics.shutdown();
 * await hub.shutdown();
 * ```
 */
export class MetricsServer implements AsyncDisposable {
  /** The address it listens on, with the real port. */
  readonly addr: Deno.NetAddr;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #shutdown: Promise<void> | null = null;
  #source: MonitorSource | null = null;
  #history = new History(HISTORY_SECONDS + 1);
  #sampler: ReturnType<typeof setInterval> | undefined;

  /** Use {@linkcode serveMetrics} or {@linkcode listenMetrics}. */
  constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    this.addr = server.addr;
  }

  /**
   * Shows `hub` (or any {@linkcode MonitorSource}) from now on, and starts
   * sampling its totals once a second for the rates and the charts.
   */
  attach(hub: Hub | MonitorSource): void {
    if (this.#source !== null) throw new Error("Already attached to a hub");
    const source = hub instanceof Hub ? hubInternals(hub).monitor() : hub;
    this.#source = source;
    const sample = () =>
      this.#history.add(sampleOf(source.metrics(), Date.now()));
    sample();
    if (this.#shutdown !== null) return;
    this.#sampler = setInterval(sample, 1000);
    // The sampler alone must not keep a process alive.
    Deno.unrefTimer(this.#sampler);
  }

  /** Stops listening and lets requests in progress finish. */
  shutdown(): Promise<void> {
    clearInterval(this.#sampler);
    this.#shutdown ??= this.#server.shutdown();
    return this.#shutdown;
  }

  /** Same as {@linkcode MetricsServer.shutdown}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Answers one request. */
  respond(request: Request): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed", {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    const url = new URL(request.url);
    const path = url.pathname;
    const page = STATIC[path];
    if (page !== undefined) {
      return new Response(page.body, {
        headers: {
          "content-type": page.type,
          "cache-control": "no-cache",
          "content-security-policy": CSP,
          "x-content-type-options": "nosniff",
        },
      });
    }
    const source = this.#source;
    if (path === "/healthz") {
      return source === null
        ? new Response("starting", { status: 503 })
        : source.draining
        ? new Response("shutting down", { status: 503 })
        : new Response("ok");
    }
    const known = path === "/metrics" || path === "/hubz" ||
      path === "/connz" || path.startsWith("/connz/");
    if (!known) return new Response("not found", { status: 404 });
    if (source === null) return new Response("starting", { status: 503 });
    if (!authorized(request, source.token)) {
      return new Response("unauthorized: send Authorization: Bearer TOKEN", {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="msghub"' },
      });
    }
    if (path === "/metrics") {
      const text = formatMetrics(source.metrics()) +
        formatProcessMetrics(processStats(), VERSION);
      return new Response(text, {
        headers: { "content-type": EXPOSITION_CONTENT_TYPE },
      });
    }
    if (path === "/hubz") {
      return json({
        status: 200,
        body: buildHubz(source, this.#history, {
          monitor: formatAddress(this.addr),
          withHistory: url.searchParams.has("history"),
        }),
      });
    }
    if (path === "/connz") return json(connz(source, url.searchParams));
    return json(connzOne(source, path.slice("/connz/".length)));
  }
}

const CSP =
  "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'";

const JS = "text/javascript; charset=utf-8";
const STATIC: Record<string, { body: string; type: string }> = {
  "/": { body: consoleHtml, type: "text/html; charset=utf-8" },
  "/console.css": { body: consoleCss, type: "text/css; charset=utf-8" },
  "/console.js": { body: consoleJs, type: JS },
  "/charts.js": { body: chartsJs, type: JS },
  "/format.js": { body: formatJs, type: JS },
  "/text_dialect.js": { body: textDialectJs, type: JS },
  "/try_it.js": { body: tryItJs, type: JS },
};

function json(answer: JsonAnswer): Response {
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
    },
  });
}

const encoder = new TextEncoder();

/**
 * Whether `request` carries the token as `Authorization: Bearer TOKEN`;
 * always, when there is no token. Compared in constant time.
 */
function authorized(request: Request, token: Uint8Array | null): boolean {
  if (token === null) return true;
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (match === null) return false;
  const given = encoder.encode(match[1]!);
  let diff = given.length ^ token.length;
  for (let i = 0; i < token.length; i++) diff |= (given[i] ?? 0) ^ token[i]!;
  return diff === 0;
}
