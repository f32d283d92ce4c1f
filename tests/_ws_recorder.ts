/**
 * A transparent TCP proxy in front of the hub's WebSocket port, for client
 * tests: it passes every byte both ways unchanged, reads the client's frames
 * (after the upgrade head) to record each message's type and size, and can
 * be muted to play a path that has gone silent.
 */
import { WsFrameParser } from "../protocol/mod.ts";
import { deadline } from "./_helpers.ts";

/** One message a client sent through the proxy. */
export interface RecordedMessage {
  binary: boolean;
  size: number;
}

/** The proxy: clients in, the hub's WebSocket port out. */
export class WsRecorder implements AsyncDisposable {
  /** Every message clients sent, in arrival order. */
  readonly received: RecordedMessage[] = [];
  #listener: Deno.TcpListener;
  #target: number;
  #muted = false;
  #conns = new Set<Deno.TcpConn>();
  #tasks = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #opened: Array<() => void> = [];

  /** Listens on a free port of 127.0.0.1, forwarding to `target`. */
  constructor(target: number) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** `ws://127.0.0.1:PORT/path`, through the proxy. */
  url(path = "/"): string {
    return `ws://127.0.0.1:${this.#listener.addr.port}${path}`;
  }

  /** Stops passing the hub's bytes to clients; what clients send still goes. */
  mute(): void {
    this.#muted = true;
  }

  /** Resolves once a client has connected through the proxy. */
  connected(): Promise<void> {
    if (this.#conns.size > 0) return Promise.resolve();
    return deadline(
      new Promise<void>((resolve) => this.#opened.push(resolve)),
      10_000,
      "a WebSocket client",
    );
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      let hub: Deno.TcpConn;
      try {
        hub = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
      } catch {
        client.close();
        continue;
      }
      this.#conns.add(client).add(hub);
      for (const resolve of this.#opened.splice(0)) resolve();
      this.#run(this.#pipe(client, hub, true));
      this.#run(this.#pipe(hub, client, false));
    }
  }

  #run(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Copies `from` to `to`; the client's side is also parsed and recorded. */
  async #pipe(
    from: Deno.TcpConn,
    to: Deno.TcpConn,
    fromClient: boolean,
  ): Promise<void> {
    let size = 0;
    let upgraded = false;
    let head = "";
    const parser = new WsFrameParser({
      onData: (payload) => size += payload.length,
      onEnd: (text) => {
        this.received.push({ binary: !text, size });
        size = 0;
      },
      onPing: () => {},
      onPong: () => {},
      onClose: () => {},
    }, { maxMessage: Number.MAX_SAFE_INTEGER });
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        if (!fromClient && this.#muted) continue;
        for (let at = 0; at < n;) at += await to.write(chunk.subarray(at));
        if (!fromClient) continue;
        // The parser unmasks in place: it reads a copy, after the head.
        let frames = chunk;
        if (!upgraded) {
          head += String.fromCharCode(...chunk);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) continue;
          upgraded = true;
          frames = chunk.subarray(chunk.length - (head.length - end - 4));
        }
        if (frames.length > 0) parser.parse(frames.slice());
      }
      await to.closeWrite();
    } catch {
      // Either side went away: the other is closed below.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.#accepting.catch(() => {});
    await Promise.all(this.#tasks);
  }
}
