/**
 * The hub's HTTP side for operators: `/metrics` for Prometheus and
 * `/healthz` for load balancers and supervisors. Everything is computed when
 * a request arrives, so the endpoint costs nothing per message.
 *
 * @module
 */
import { EXPOSITION_CONTENT_TYPE, formatMetrics } from "./exposition.ts";
import { type Hub, hubInternals } from "./hub.ts";

/** Options of {@linkcode serveMetrics}. */
export interface MetricsOptions {
  /** Address to listen on. Default `127.0.0.1`: metrics need no wider audience. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one. */
  port: number;
}

/**
 * Starts the metrics endpoint of `hub` and resolves once it listens:
 * `GET /metrics` answers the Prometheus text format (0.0.4) built from
 * {@linkcode Hub.metrics} at that moment, and `GET /healthz` answers 200
 * `ok`, or 503 once the hub is shutting down. Prints nothing; logs its
 * address through the hub's logger.
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
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port,
      // Deno.serve would print its own listening line on stdout.
      onListen: () => {},
      onError: (error) => {
        hubInternals(hub).log("error", "metrics request failed", {
          error: String(error),
        });
        return new Response("internal error", { status: 500 });
      },
    }, (request) => respond(hub, request));
  } catch (error) {
    // A taken port rejects, as from an async function.
    return Promise.reject(error);
  }
  const metrics = new MetricsServer(server);
  hubInternals(hub).log("info", "metrics listening", {
    address: `${metrics.addr.hostname}:${metrics.addr.port}`,
  });
  return Promise.resolve(metrics);
}

/**
 * A running metrics endpoint; {@linkcode serveMetrics} starts one.
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

  /** Use {@linkcode serveMetrics}. */
  constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    this.addr = server.addr;
  }

  /** Stops listening and lets requests in progress finish. */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#server.shutdown();
    return this.#shutdown;
  }

  /** Same as {@linkcode MetricsServer.shutdown}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

function respond(hub: Hub, request: Request): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed", {
      status: 405,
      headers: { allow: "GET, HEAD" },
    });
  }
  switch (new URL(request.url).pathname) {
    case "/metrics":
      return new Response(formatMetrics(hub.metrics()), {
        headers: { "content-type": EXPOSITION_CONTENT_TYPE },
      });
    case "/healthz":
      return hubInternals(hub).shuttingDown
        ? new Response("shutting down", { status: 503 })
        : new Response("ok");
    default:
      return new Response("not found", { status: 404 });
  }
}
