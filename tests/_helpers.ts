/** Test helpers: raw sockets that speak frames and lines, with deadlines. */
import { FrameParser, REPLY_LIMITS } from "../protocol/mod.ts";
import type { HubLogger } from "../hub/mod.ts";

/** A frame as a raw test client sees it; the payload is a copy. */
export interface RawFrame {
  kind: number;
  payload: Uint8Array;
}

const DEFAULT_DEADLINE = 10_000;

/** Rejects after `ms` unless `promise` settles first; the timer never leaks. */
export async function deadline<T>(
  promise: Promise<T>,
  ms = DEFAULT_DEADLINE,
  what = "event",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it is true or the deadline passes. */
export async function waitFor(
  check: () => boolean,
  what: string,
  ms = DEFAULT_DEADLINE,
): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) {
      throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One event a hub logged. */
export interface LogEvent {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/**
 * Collects what a hub logs, and lets a test await the event it waits for:
 * the hub calls its logger as things happen, so no polling is needed.
 */
export class LogRecorder {
  /** Every event so far, oldest first. */
  readonly events: LogEvent[] = [];
  #waiters: Array<{ match: (e: LogEvent) => boolean; resolve: () => void }> =
    [];

  /** Pass this as the hub's `logger`. */
  readonly logger: HubLogger = (level, message, fields) => {
    const event = { level, message, fields };
    this.events.push(event);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(event)) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Events whose message is `message`, and whose fields include `fields`. */
  find(message: string, fields: Record<string, unknown> = {}): LogEvent[] {
    return this.events.filter((e) => matches(e, message, fields));
  }

  /**
   * Resolves once `count` events like {@linkcode find}'s have been logged,
   * those already logged included; rejects after the deadline.
   */
  async next(
    message: string,
    fields: Record<string, unknown> = {},
    count = 1,
    ms = DEFAULT_DEADLINE,
  ): Promise<void> {
    let seen = this.find(message, fields).length;
    if (seen >= count) return;
    const what = `${count} "${message}" events with ${JSON.stringify(fields)}`;
    await deadline(
      new Promise<void>((resolve) => {
        this.#waiters.push({
          match: (e) => matches(e, message, fields) && ++seen >= count,
          resolve,
        });
      }),
      ms,
      what,
    );
  }
}

function matches(
  event: LogEvent,
  message: string,
  fields: Record<string, unknown>,
): boolean {
  return event.message === message &&
    Object.entries(fields).every(([key, value]) => event.fields[key] === value);
}

/**
 * A raw TCP client for tests: it writes bytes as given and reads frames or
 * lines, so a test sees exactly what the hub sends.
 */
export class RawClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  #frames: RawFrame[] = [];
  #text = new Uint8Array(0);
  #parser: FrameParser;
  #eof = false;
  #buf = new Uint8Array(256 * 1024);
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#parser = new FrameParser(REPLY_LIMITS, (kind, payload) => {
      this.#frames.push({ kind, payload: payload.slice() });
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawClient(conn);
  }

  /** Writes every byte. */
  async send(bytes: Uint8Array | string): Promise<void> {
    let data = typeof bytes === "string"
      ? new TextEncoder().encode(bytes)
      : bytes;
    while (data.length > 0) data = data.subarray(await this.conn.write(data));
  }

  /** Reads more bytes into `sink`; false at EOF or reset. */
  async #fill(sink: (chunk: Uint8Array) => void): Promise<boolean> {
    if (this.#eof) return false;
    let n: number | null;
    try {
      n = await this.conn.read(this.#buf);
    } catch {
      n = null;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    sink(this.#buf.subarray(0, n));
    return true;
  }

  /** The next binary frame; throws at EOF or after the deadline. */
  async frame(ms = DEFAULT_DEADLINE): Promise<RawFrame> {
    return await deadline(
      (async () => {
        while (this.#frames.length === 0) {
          if (!(await this.#fill((chunk) => this.#parser.parse(chunk)))) {
            throw new Error("Connection ended before a frame arrived");
          }
        }
        return this.#frames.shift()!;
      })(),
      ms,
      "a frame",
    );
  }

  /** The next `count` bytes of text-dialect output. */
  async bytes(count: number, ms = DEFAULT_DEADLINE): Promise<Uint8Array> {
    return await deadline(
      (async () => {
        while (this.#text.length < count) {
          if (!(await this.#fill((chunk) => this.#appendText(chunk)))) {
            throw new Error("Connection ended before enough bytes arrived");
          }
        }
        const out = this.#text.slice(0, count);
        this.#text = this.#text.slice(count);
        return out;
      })(),
      ms,
      `${count} bytes`,
    );
  }

  /** The next text line, without its `\n`. */
  async line(ms = DEFAULT_DEADLINE): Promise<string> {
    return await deadline(
      (async () => {
        let lf: number;
        while ((lf = this.#text.indexOf(0x0a)) < 0) {
          if (!(await this.#fill((chunk) => this.#appendText(chunk)))) {
            throw new Error(
              `Connection ended before a line arrived (have "${
                new TextDecoder().decode(this.#text)
              }")`,
            );
          }
        }
        const line = new TextDecoder().decode(this.#text.subarray(0, lf));
        this.#text = this.#text.slice(lf + 1);
        return line;
      })(),
      ms,
      "a line",
    );
  }

  #appendText(chunk: Uint8Array): void {
    const next = new Uint8Array(this.#text.length + chunk.length);
    next.set(this.#text);
    next.set(chunk, this.#text.length);
    this.#text = next;
  }

  /** Resolves true once the hub closes the connection (EOF or reset). */
  async closedByPeer(ms = DEFAULT_DEADLINE): Promise<boolean> {
    return await deadline(
      (async () => {
        while (await this.#fill((chunk) => this.#parser.parse(chunk))) {
          // Discard what still arrives.
        }
        return true;
      })(),
      ms,
      "the hub to close the connection",
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Hex-free byte fixture: `bytes(0x02, 0, 0, 0, 0)`. */
export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** Reads a u64 at `offset` of a payload. */
export function u64(payload: Uint8Array, offset = 0): bigint {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    .getBigUint64(offset);
}

/** UTF-8 text of bytes. */
export function text(payload: Uint8Array): string {
  return new TextDecoder().decode(payload);
}
