/**
 * A real `nats-server` for the cluster tests: started on a free port with
 * JetStream and a store of its own, stopped and restarted at will.
 */
import { deadline } from "./_helpers.ts";

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

/** A running nats-server with JetStream. */
export class NatsServer implements AsyncDisposable {
  /** Its client port. */
  readonly port: number;
  /** Where JetStream keeps its files; kept across restarts. */
  readonly store: string;
  #child: Deno.ChildProcess;
  #owned: boolean;

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    store: string,
    owned: boolean,
  ) {
    this.#child = child;
    this.port = port;
    this.store = store;
    this.#owned = owned;
  }

  /** The URL hubs join with. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server: on a free port unless `port` is given, with JetStream
   * in `store` (a new temporary folder unless given), or without JetStream.
   */
  static async start(
    options: {
      port?: number;
      store?: string;
      jetstream?: boolean;
      /** Lines of a nats-server config file, such as `max_payload: 16384`. */
      config?: string;
    } = {},
  ): Promise<NatsServer> {
    if ("missing" in NATS_SERVER) throw new Error(NATS_SERVER.missing);
    const owned = options.store === undefined;
    const store = options.store ?? await Deno.makeTempDir({ prefix: "nats-" });
    const args = ["-a", "127.0.0.1", "-p", String(options.port ?? -1)];
    if (options.jetstream !== false) args.push("-js", "-sd", store);
    if (options.config !== undefined) {
      const file = `${store}/nats.conf`;
      await Deno.writeTextFile(file, options.config);
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
    await deadline(
      (async () => {
        while (!/Server is ready/.test(text)) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`nats-server exited:\n${text}`);
          text += value;
        }
        port = Number(/client connections on [^\s]*:(\d+)/.exec(text)?.[1]);
      })(),
      10_000,
      "nats-server to start",
    );
    // Keep draining its log so it never blocks on a full pipe.
    (async () => {
      while (!(await reader.read()).done);
    })().catch(() => {});
    return new NatsServer(child, port, store, owned);
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

  /** Starts a new server on the same port and store. */
  restart(): Promise<NatsServer> {
    return NatsServer.start({ port: this.port, store: this.store });
  }

  /** Stops the server and removes its store, if it made it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    if (this.#owned) {
      await Deno.remove(this.store, { recursive: true }).catch(() => {});
    }
  }
}
