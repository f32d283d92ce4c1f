/**
 * A raw WebSocket client for hub tests, made of `protocol/`'s codec over a
 * plain socket: it sends exactly the frames a test gives (masked, split,
 * several per write, or broken on purpose) and records every frame the hub
 * sends back, so a test sees the wire as it is.
 */
import {
  encodeFrame,
  encodeWsClose,
  encodeWsFrame,
  encodeWsUpgradeRequest,
  FrameParser,
  REPLY_LIMITS,
  WsFrameParser,
  WsOpcode,
} from "../protocol/mod.ts";
import { deadline, type RawFrame } from "./_helpers.ts";

/** One message the hub sent: its opcode and payload. */
export interface WsMessage {
  text: boolean;
  bytes: Uint8Array;
}

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the hub answered to the upgrade request. */
export interface UpgradeAnswer {
  status: number;
  head: string;
  body: string;
}

/** A raw WebSocket client; {@linkcode WsClient.open} upgrades it. */
export class WsClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn | Deno.TlsConn;
  /** Data messages, in order. */
  readonly messages: WsMessage[] = [];
  /** Pong payloads. */
  readonly pongs: Uint8Array[] = [];
  /** The close frame's code, once one came. */
  closeCode: number | null = null;
  /** Whether the hub closed the TCP connection. */
  eof = false;
  #parser: WsFrameParser;
  #pending: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #reading: Promise<void> | null = null;
  #buf = new Uint8Array(256 * 1024);

  private constructor(conn: Deno.TcpConn | Deno.TlsConn) {
    this.conn = conn;
    this.#parser = new WsFrameParser({
      onData: (payload) => this.#pending.push(payload.slice()),
      onEnd: (text) => {
        const length = this.#pending.reduce((n, p) => n + p.length, 0);
        const bytes = new Uint8Array(length);
        let at = 0;
        for (const piece of this.#pending) {
          bytes.set(piece, at);
          at += piece.length;
        }
        this.#pending = [];
        this.messages.push({ text, bytes });
      },
      onPing: () => {},
      onPong: (payload) => this.pongs.push(payload.slice()),
      onClose: (code) => this.closeCode = code,
    }, { role: "client", maxMessage: 64 * 1024 * 1024 });
  }

  /**
   * Connects and sends `head` (an upgrade request by default); resolves to
   * the client and the hub's answer. On 101 the client reads frames.
   */
  static async connect(
    port: number,
    options: {
      head?: Uint8Array;
      origin?: string;
      tls?: string;
      read?: boolean;
    } = {},
  ): Promise<{ client: WsClient; answer: UpgradeAnswer }> {
    const conn = options.tls === undefined
      ? await Deno.connect({ hostname: "127.0.0.1", port })
      : await Deno.connectTls({
        hostname: "localhost",
        port,
        caCerts: [options.tls],
      });
    const client = new WsClient(conn);
    const head = options.head ?? encodeWsUpgradeRequest({
      host: `127.0.0.1:${port}`,
      path: "/any/path?x=1",
      ...(options.origin === undefined ? {} : { origin: options.origin }),
    });
    await client.write(head);
    const answer = await deadline(
      client.#answer(),
      10_000,
      "the upgrade answer",
    );
    if (answer.status === 101 && options.read !== false) {
      client.#reading = client.#read();
    }
    return { client, answer };
  }

  /** Connects and upgrades, failing unless the hub answers 101. */
  static async open(
    port: number,
    options: { origin?: string; tls?: string; read?: boolean } = {},
  ): Promise<WsClient> {
    const { client, answer } = await WsClient.connect(port, options);
    if (answer.status !== 101) {
      throw new Error(`Expected 101, got ${answer.status}: ${answer.body}`);
    }
    return client;
  }

  /** Reads the answer's head and, for a refusal, its body up to EOF. */
  async #answer(): Promise<UpgradeAnswer> {
    let got = new Uint8Array(0);
    const one = new Uint8Array(1);
    // Byte by byte, so no frame after the head is read here.
    while (!decoder.decode(got).includes("\r\n\r\n")) {
      const n = await this.conn.read(one);
      if (n === null) {
        throw new Error(`EOF in the answer: ${decoder.decode(got)}`);
      }
      const next = new Uint8Array(got.length + 1);
      next.set(got);
      next[got.length] = one[0]!;
      got = next;
    }
    const head = decoder.decode(got);
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
    let body = "";
    if (status !== 101) {
      const length = Number(/Content-Length: (\d+)/i.exec(head)?.[1] ?? 0);
      const bytes = new Uint8Array(length);
      for (let at = 0; at < length;) {
        const n = await this.conn.read(bytes.subarray(at));
        if (n === null) break;
        at += n;
      }
      body = decoder.decode(bytes);
    }
    return { status, head, body };
  }

  async #read(): Promise<void> {
    try {
      while (true) {
        const n = await this.conn.read(this.#buf);
        if (n === null) break;
        this.#parser.parse(this.#buf.subarray(0, n));
        this.#wake?.();
      }
    } catch {
      // A reset ends the stream as EOF does.
    }
    this.eof = true;
    this.#wake?.();
  }

  /** Writes raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      at += await this.conn.write(bytes.subarray(at));
    }
  }

  /** Sends one masked frame. */
  send(
    opcode: number,
    payload: Uint8Array | string,
    fin = true,
  ): Promise<void> {
    const bytes = typeof payload === "string"
      ? encoder.encode(payload)
      : payload;
    return this.write(
      encodeWsFrame(opcode as WsOpcode, bytes, { fin, mask: MASK }),
    );
  }

  /** Sends a text message. */
  text(line: string): Promise<void> {
    return this.send(WsOpcode.Text, line);
  }

  /** Sends a binary message holding one msghub frame. */
  frame(kind: number, payload?: Uint8Array): Promise<void> {
    return this.send(WsOpcode.Binary, encodeFrame(kind, payload));
  }

  /** Sends a close frame. */
  close(code = 1000): Promise<void> {
    return this.write(encodeWsClose(code, "", { mask: MASK }));
  }

  /** Resolves once `check` holds, or fails at the deadline. */
  async until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
    await deadline(
      (async () => {
        while (!check()) {
          if (this.eof) {
            if (check()) return;
            throw new Error(`EOF while waiting for ${what}`);
          }
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
      })(),
      ms,
      what,
    );
  }

  /** The next `count` data messages after those already taken. */
  #taken = 0;
  async next(count = 1): Promise<WsMessage[]> {
    const want = this.#taken + count;
    await this.until(() => this.messages.length >= want, `${count} messages`);
    const out = this.messages.slice(this.#taken, want);
    this.#taken = want;
    return out;
  }

  /** The next text message, as a string without checking its opcode. */
  async line(): Promise<string> {
    const [message] = await this.next();
    if (!message!.text) throw new Error("Expected a text message");
    return decoder.decode(message!.bytes);
  }

  /** The msghub frames in the next binary message. */
  async frames(): Promise<RawFrame[]> {
    const [message] = await this.next();
    if (message!.text) throw new Error("Expected a binary message");
    const frames: RawFrame[] = [];
    new FrameParser(REPLY_LIMITS, (kind, payload) => {
      frames.push({ kind, payload: payload.slice() });
    }).parse(message!.bytes);
    return frames;
  }

  /** Resolves once the hub has sent its close frame and closed TCP. */
  async closed(): Promise<number | null> {
    await this.until(() => this.eof, "the hub to close");
    return this.closeCode;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    await this.#reading;
  }
}
