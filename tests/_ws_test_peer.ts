/**
 * A WebSocket TEST PEER for the client's WebSocket transport: it accepts
 * WebSocket connections with `Deno.upgradeWebSocket` and bridges each one to
 * its own TCP connection to a real hub, so a client over WebSocket gets the
 * hub's own answers. It is a stand-in until the hub's WebSocket listener
 * lands (then the same tests run against the hub directly); it is not how
 * the hub speaks WebSocket, and nothing outside tests/ may use it.
 *
 * It records every client message (binary or text, and its size) so tests
 * can check the transport's framing, and it can be muted to play a dead path.
 */
import { deadline } from "./_helpers.ts";

/** One message a client sent through the peer. */
export interface PeerMessage {
  binary: boolean;
  size: number;
}

interface Bridge {
  socket: WebSocket;
  tcp: Deno.TcpConn;
  done: Promise<void>;
}

/** The bridge: WebSocket clients in, TCP to the hub out. */
export class WebSocketTestPeer implements AsyncDisposable {
  /** Every message clients sent, in arrival order. */
  readonly received: PeerMessage[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #bridges = new Set<Bridge>();
  #muted = false;
  #hubPort: number;
  #opened: Array<() => void> = [];

  /** Starts a peer on a free port of 127.0.0.1 that bridges to `hubPort`. */
  constructor(hubPort: number) {
    this.#hubPort = hubPort;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#upgrade(request),
    );
  }

  /** The port the peer listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** `ws://127.0.0.1:PORT/path`. */
  url(path = "/"): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** WebSocket connections bridged so far and still open. */
  get open(): number {
    return this.#bridges.size;
  }

  /**
   * Stops passing the hub's bytes to clients (what clients send still goes
   * to the hub): a path that has gone silent.
   */
  mute(): void {
    this.#muted = true;
  }

  /** Resolves once a client has connected through the peer. */
  connected(): Promise<void> {
    if (this.#bridges.size > 0) return Promise.resolve();
    return deadline(
      new Promise<void>((resolve) => this.#opened.push(resolve)),
      10_000,
      "a WebSocket client",
    );
  }

  async #upgrade(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("WebSocket only", { status: 426 });
    }
    const tcp = await Deno.connect({
      hostname: "127.0.0.1",
      port: this.#hubPort,
    });
    tcp.setNoDelay(true);
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    let writes = Promise.resolve();
    const write = (bytes: Uint8Array) => {
      writes = writes.then(async () => {
        let rest = bytes;
        while (rest.length > 0) rest = rest.subarray(await tcp.write(rest));
      }).catch(() => {});
    };
    socket.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      const bytes = typeof data === "string"
        ? new TextEncoder().encode(data)
        : new Uint8Array(data as ArrayBuffer);
      this.received.push({
        binary: typeof data !== "string",
        size: bytes.length,
      });
      write(bytes);
    };
    socket.onclose = () => {
      // Half-close, after what the client sent: the hub answers, then hangs up.
      writes = writes.then(() => tcp.closeWrite()).catch(() => {});
    };
    const bridge: Bridge = { socket, tcp, done: Promise.resolve() };
    bridge.done = this.#pump(bridge);
    this.#bridges.add(bridge);
    const opened = this.#opened;
    this.#opened = [];
    for (const resolve of opened) resolve();
    return response;
  }

  /** Hub to client: every read becomes one binary message. */
  async #pump(bridge: Bridge): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const { socket, tcp } = bridge;
    if (socket.readyState === WebSocket.CONNECTING) {
      await new Promise((resolve) => socket.addEventListener("open", resolve));
    }
    try {
      while (true) {
        const n = await tcp.read(buffer);
        if (n === null) break;
        if (!this.#muted && socket.readyState === WebSocket.OPEN) {
          socket.send(buffer.slice(0, n));
        }
      }
    } catch {
      // The hub or the test closed the connection: close the WebSocket too.
    }
    try {
      tcp.close();
    } catch {
      // Already closed.
    }
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    this.#bridges.delete(bridge);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const bridges = [...this.#bridges];
    for (const { socket, tcp } of bridges) {
      try {
        tcp.close();
      } catch {
        // Already closed.
      }
      if (socket.readyState <= WebSocket.OPEN) socket.close(1000);
    }
    await Promise.all(bridges.map((bridge) => bridge.done));
    await this.#server.shutdown();
  }
}
