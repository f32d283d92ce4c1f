/**
 * A real `nats-server` for the cluster tests: started on a free port with
 * JetStream and a store of its own, stopped and restarted at will; and
 * {@linkcode NatsCluster}, three of them joined by routes, with JetStream
 * clustered across them.
 */
import { assert } from "./_assert.ts";
import { deadline } from "./_helpers.ts";
import { type Client, connect } from "../client/mod.ts";
import {
  type Hub,
  type HubClusterOptions,
  type HubOptions,
  serve,
} from "../hub/mod.ts";

const CANDIDATES = [
  "nats-server",
  "/usr/sbin/nats-server",
  "/usr/bin/nats-server",
  "/usr/local/bin/nats-server",
];

/** The nats-server command, or why there is none. */
export const NATS_SERVER: { path: string } | { missing: string } =
  await (async () => {
    for (const path of CANDIDATES) {
      try {
        const out = await new Deno.Command(path, {
          args: ["--version"],
          stdout: "null",
          stderr: "null",
        }).output();
        if (out.success) return { path };
      } catch {
        // Not this one.
      }
    }
    return {
      missing:
        "nats-server is not installed (apt-get install -y nats-server; .ci/run installs it)",
    };
  })();

/** True when the cluster tests cannot run; they print why once. */
export const NO_NATS = "missing" in NATS_SERVER;
if ("missing" in NATS_SERVER) {
  console.log(`cluster tests skipped: ${NATS_SERVER.missing}`);
}

/** How a node of a NATS cluster joins it. */
export interface RouteOptions {
  /** The node's name, unique in the cluster (`server_name`). */
  name: string;
  /** Its route port; a free one unless given. */
  port?: number;
  /** Route ports of the other nodes it connects to. */
  routes: number[];
}

/** Options of {@linkcode NatsServer.start}. */
export interface NatsServerOptions {
  port?: number;
  store?: string;
  jetstream?: boolean;
  /** Lines of a nats-server config file, such as `max_payload: 16384`. */
  config?: string;
  /** Makes the server a node of a cluster. */
  route?: RouteOptions;
  /** Serves the monitoring endpoint (`/jsz`) on a free port. */
  monitor?: boolean;
}

/** A running nats-server with JetStream. */
export class NatsServer implements AsyncDisposable {
  /** Its client port. */
  readonly port: number;
  /** Where JetStream keeps its files; kept across restarts. */
  readonly store: string;
  /** Its route port, for a node of a cluster; else 0. */
  readonly routePort: number;
  /** Its monitoring port, when asked for; else 0. */
  readonly monitorPort: number;
  readonly #options: NatsServerOptions;
  #child: Deno.ChildProcess;
  #owned: boolean;

  private constructor(
    child: Deno.ChildProcess,
    ports: { port: number; route: number; monitor: number },
    store: string,
    owned: boolean,
    options: NatsServerOptions,
  ) {
    this.#child = child;
    this.port = ports.port;
    this.routePort = ports.route;
    this.monitorPort = ports.monitor;
    this.store = store;
    this.#owned = owned;
    this.#options = options;
  }

  /** The node's name, for a node of a cluster. */
  get name(): string | undefined {
    return this.#options.route?.name;
  }

  /** The URL hubs join with. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server: on a free port unless `port` is given, with JetStream
   * in `store` (a new temporary folder unless given), or without JetStream.
   */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    if ("missing" in NATS_SERVER) throw new Error(NATS_SERVER.missing);
    const owned = options.store === undefined;
    const store = options.store ?? await Deno.makeTempDir({ prefix: "nats-" });
    const args = ["-a", "127.0.0.1", "-p", String(options.port ?? -1)];
    if (options.jetstream !== false) args.push("-js", "-sd", store);
    if (options.monitor === true) args.push("-m", "-1");
    let config = options.config ?? "";
    const route = options.route;
    if (route !== undefined) {
      config += `server_name: ${route.name}\ncluster {\n  name: msghub_test\n` +
        `  listen: 127.0.0.1:${route.port ?? -1}\n  routes: [${
          route.routes.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")
        }]\n}\n`;
    }
    if (config !== "") {
      const file = `${store}/nats.conf`;
      await Deno.writeTextFile(file, config);
      args.push("-c", file);
    }
    const child = new Deno.Command(NATS_SERVER.path, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // It logs "Listening for client connections on 127.0.0.1:PORT", then
    // "Server is ready".
    const reader = child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    let port = 0;
    let routePort = 0;
    let monitor = 0;
    await deadline(
      (async () => {
        while (!/Server is ready/.test(text)) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`nats-server exited:\n${text}`);
          text += value;
        }
        port = Number(/client connections on [^\s]*:(\d+)/.exec(text)?.[1]);
        routePort = Number(
          /route connections on [^\s]*:(\d+)/.exec(text)?.[1] ?? 0,
        );
        monitor = Number(/http monitor on [^\s]*:(\d+)/.exec(text)?.[1] ?? 0);
      })(),
      10_000,
      "nats-server to start",
    );
    // Keep draining its log so it never blocks on a full pipe.
    (async () => {
      while (!(await reader.read()).done);
    })().catch(() => {});
    return new NatsServer(
      child,
      { port, route: routePort, monitor },
      store,
      owned,
      options,
    );
  }

  /** Kills the server (SIGKILL: no goodbye to its clients) and waits for it. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }

  /**
   * Starts a new server on the same port and store; a node of a cluster
   * keeps its name and route port, and routes to `routes` (by default those
   * it had).
   */
  restart(routes?: number[]): Promise<NatsServer> {
    const route = this.#options.route;
    return NatsServer.start({
      ...this.#options,
      port: this.port,
      store: this.store,
      ...(route === undefined ? {} : {
        route: {
          ...route,
          port: this.routePort,
          routes: routes ?? route.routes,
        },
      }),
    });
  }

  /** The name of the JetStream metadata leader, as this node sees it. */
  async metaLeader(): Promise<string | undefined> {
    if (this.monitorPort === 0) throw new Error("started without monitor");
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/jsz`);
    const jsz = await response.json() as { meta_cluster?: { leader?: string } };
    return jsz.meta_cluster?.leader;
  }

  /** Stops the server and removes its store, if it made it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    if (this.#owned) {
      await Deno.remove(this.store, { recursive: true }).catch(() => {});
    }
  }
}

/**
 * Three nats-servers joined by routes into one NATS cluster, with JetStream
 * clustered across them. Each serves `/jsz` for its view of the JetStream
 * metadata leader.
 */
export class NatsCluster implements AsyncDisposable {
  /** The nodes; a node restarted by {@linkcode restart} replaces its entry. */
  readonly nodes: NatsServer[];

  private constructor(nodes: NatsServer[]) {
    this.nodes = nodes;
  }

  /** The URLs of every node, as a hub is given them. */
  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  /**
   * Starts three nodes, each routing to all three (JetStream needs its
   * routes configured, and a node ignores the route to itself), on route
   * ports free a moment before; waits until JetStream has a metadata leader.
   */
  static async start(): Promise<NatsCluster> {
    const ports = [0, 1, 2].map(() => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      return port;
    });
    const nodes = await Promise.all(ports.map((port, i) =>
      NatsServer.start({
        route: { name: `n${i + 1}`, port, routes: ports },
        monitor: true,
      })
    ));
    const cluster = new NatsCluster(nodes);
    await cluster.leader(30_000);
    return cluster;
  }

  /**
   * The node that is the JetStream metadata leader, once most nodes of
   * `among` (by default all) agree on one; rejects after `ms`.
   */
  async leader(ms = 20_000, among = this.nodes): Promise<NatsServer> {
    const end = performance.now() + ms;
    while (true) {
      const seen = await Promise.all(
        among.map((node) => node.metaLeader().catch(() => undefined)),
      );
      // A quorum is enough: a node that just came back may still be
      // catching up, and says no leader meanwhile.
      for (const name of seen) {
        const agree = seen.filter((s) => s === name).length;
        if (name === undefined || name === "" || agree * 2 <= among.length) {
          continue;
        }
        const node = this.nodes.find((n) => n.name === name);
        if (node !== undefined) return node;
      }
      if (performance.now() > end) {
        throw new Error(`no JetStream leader agreed on: ${seen.join(",")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Restarts node `i` (killed before) with routes to the other nodes. */
  async restart(i: number): Promise<NatsServer> {
    const node = this.nodes[i]!;
    const routes = this.nodes.filter((n) => n !== node).map((n) => n.routePort);
    this.nodes[i] = await node.restart(routes);
    return this.nodes[i]!;
  }

  /** Stops every node and removes their stores. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const node of this.nodes) await node[Symbol.asyncDispose]();
  }
}

/** A cluster test: skipped, with the reason printed once, without nats-server. */
export function clusterTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: NO_NATS, fn });
}

/**
 * A hub in this process joined to `nats` (a server, or the URLs of several),
 * with quick heartbeats; `cluster` adds to its cluster options.
 */
export function clusterHub(
  nats: NatsServer | string[],
  name: string,
  options: HubOptions = {},
  deadAfter = 1_000,
  cluster: Omit<HubClusterOptions, "servers"> = {},
): Promise<Hub> {
  const servers = Array.isArray(nats) ? nats : [nats.url];
  return serve({
    port: 0,
    cluster: { servers, name, heartbeat: 100, deadAfter, ...cluster },
    ...options,
  });
}

/** A client of `hub`. */
export function client(hub: Hub): Promise<Client> {
  return connect({ port: hub.addr.port });
}

/** Waits until `c`'s list is `expected` (any order); returns the ms it took. */
export async function listIs(
  c: Client,
  expected: bigint[],
  what: string,
  ms = 5_000,
): Promise<number> {
  const want = JSON.stringify(
    [...expected].sort((a, b) => a < b ? -1 : 1).map(String),
  );
  const start = performance.now();
  let last = "";
  while (true) {
    last = JSON.stringify((await c.list()).map(String));
    if (last === want) return performance.now() - start;
    if (performance.now() - start > ms) {
      throw new Error(`${what}: list is ${last}, expected ${want}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function nextMessage(
  c: Client,
): Promise<{ sender: bigint; body: string }> {
  const { value, done } = await deadline(
    c.messages().next(),
    10_000,
    "a message",
  );
  assert(!done, "the message stream ended");
  return { sender: value.sender, body: new TextDecoder().decode(value.body) };
}

export const text = (s: string) => new TextEncoder().encode(s);
