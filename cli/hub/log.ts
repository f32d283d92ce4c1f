/**
 * The hub's log lines: one per event on stderr, as text or as JSON.
 *
 * @module
 */
import type { HubLogger, LogFields, LogLevel } from "../../hub/mod.ts";

export type { HubLogger, LogFields, LogLevel };

/** How `msghub hub` writes its log lines. */
export type LogFormat = "text" | "json";

/** The levels, least severe first; a logger drops those below its minimum. */
export const LOG_LEVELS: Readonly<Record<LogLevel, number>> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Events below this level are dropped. */
  level: LogLevel;
  /** `text`: `TIME LEVEL message key=value ...`; `json`: one object a line. */
  format: LogFormat;
  /** Where each line goes, without its line end. Default: {@linkcode stderrSink}. */
  write?: (line: string) => void;
  /** The clock. Default: `new Date()`. */
  now?: () => Date;
}

const encoder = new TextEncoder();
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Log lines waiting past this many bytes are dropped, and counted. */
const BACKLOG_LIMIT = 1024 * 1024;

/**
 * Writes lines to stderr without ever blocking the hub: lines queue, and one
 * asynchronous loop writes them. When stderr cannot keep up (a full pipe, a
 * slow terminal), lines past a 1 MiB backlog are dropped and a line saying
 * how many follows, rather than the hub's thread waiting on a write.
 *
 * @example Lines written in order
 * ```ts ignore
 * import { StderrSink } from "./log.ts";
 * const sink = new StderrSink();
 * sink.write("one");
 * sink.write("two");
 * await sink.flush();
 * ```
 */
export class StderrSink {
  #pending: string[] = [];
  #bytes = 0;
  #dropped = 0;
  #writing: Promise<void> | null = null;
  #out: (data: Uint8Array) => Promise<number>;

  /**
   * Makes a sink with nothing queued.
   *
   * @param out where bytes go; stderr unless a test says otherwise
   */
  constructor(
    out: (data: Uint8Array) => Promise<number> = (data) =>
      Deno.stderr.write(data),
  ) {
    this.#out = out;
  }

  /** Makes the line that reports how many lines were dropped. */
  notice: (dropped: number) => string = (dropped) =>
    `${dropped} log lines dropped: stderr is not keeping up`;

  /** Queues one line (without its line end). */
  write = (line: string): void => {
    if (this.#bytes + line.length > BACKLOG_LIMIT) {
      this.#dropped++;
      return;
    }
    this.#pending.push(line + "\n");
    this.#bytes += line.length + 1;
    this.#writing ??= this.#run();
  };

  /** Resolves once every queued line is written (or stderr has failed). */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        let data = encoder.encode(this.#pending.join(""));
        this.#pending = [];
        this.#bytes = 0;
        while (data.length > 0) {
          data = data.subarray(await this.#out(data));
        }
        if (this.#dropped > 0 && this.#pending.length === 0) {
          this.#pending.push(this.notice(this.#dropped) + "\n");
          this.#dropped = 0;
        }
      }
    } catch {
      // Stderr is gone: there is nobody left to tell.
      this.#pending = [];
      this.#bytes = 0;
    } finally {
      this.#writing = null;
    }
  }
}

/** One log line in `format`, as {@linkcode createLogger} writes it. */
export function formatLine(
  format: LogFormat,
  level: LogLevel,
  message: string,
  fields: LogFields,
  time: Date = new Date(),
): string {
  return (format === "json" ? jsonLine : textLine)(
    time,
    level,
    message,
    fields,
  );
}

/** The process's one stderr sink: every logger that is given no `write`. */
export const stderrSink: StderrSink = new StderrSink();

/**
 * A hub logger writing one line per event. In JSON a line is
 * `{"time":..., "level":..., "msg":..., ...fields}`; a field whose name is
 * taken by those three is written as `field_NAME`, and a bigint as a number
 * when it is a safe integer, else as a string.
 *
 * @example One JSON line
 * ```ts
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger({
 *   level: "info",
 *   format: "json",
 *   write: (line) => lines.push(line),
 *   now: () => new Date(0),
 * });
 * log("info", "close", { id: 3, reason: "client quit" });
 * log("debug", "connect", { id: 4 }); // below the level: dropped
 * const expected =
 *   '{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"close","id":3,"reason":"client quit"}';
 * if (lines.length !== 1 || lines[0] !== expected) throw new Error(lines.join("\n"));
 * ```
 */
export function createLogger(options: LoggerOptions): HubLogger {
  const minimum = LOG_LEVELS[options.level];
  const write = options.write ?? stderrSink.write;
  const now = options.now ?? (() => new Date());
  const format = options.format === "json" ? jsonLine : textLine;
  return (level, message, fields) => {
    if (LOG_LEVELS[level] < minimum) return;
    write(format(now(), level, message, fields));
  };
}

function textLine(
  time: Date,
  level: LogLevel,
  message: string,
  fields: LogFields,
): string {
  let line = `${time.toISOString()} ${level.toUpperCase()} ${message}`;
  for (const [key, value] of Object.entries(fields)) {
    line += typeof value === "string" && (value === "" || /[\s"=]/.test(value))
      ? ` ${key}=${JSON.stringify(value)}`
      : ` ${key}=${value}`;
  }
  return line;
}

function jsonLine(
  time: Date,
  level: LogLevel,
  message: string,
  fields: LogFields,
): string {
  const record: Record<string, string | number | boolean> = {
    time: time.toISOString(),
    level,
    msg: message,
  };
  for (const [key, value] of Object.entries(fields)) {
    const name = Object.hasOwn(record, key) ? `field_${key}` : key;
    record[name] = typeof value !== "bigint"
      ? value
      : value <= MAX_SAFE && value >= -MAX_SAFE
      ? Number(value)
      : String(value);
  }
  return JSON.stringify(record);
}
