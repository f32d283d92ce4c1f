/**
 * `msghub client relay`: the body from the arguments, a file or stdin, and
 * a progress line on a terminal while a large one is sent.
 *
 * @module
 */
import { toBytes } from "@std/streams/to-bytes";
import type { HubClient, Receipt } from "./_hub_client.ts";
import { HEADER_SIZE, MAX_BODY } from "../../protocol/mod.ts";
import { Output, type Writer } from "./_io.ts";

/** Bodies from this size up show progress on a terminal. */
export const PROGRESS_THRESHOLD = 256 * 1024;
/** How often the progress line is drawn again, in ms. */
const PROGRESS_INTERVAL = 100;

/** Where the body of a relay comes from. */
export interface BodySource {
  /** The text arguments, joined by spaces; when empty, `file` or stdin. */
  text: readonly string[];
  /** A file to send as raw bytes. */
  file?: string;
  /** Read to its end when there is neither text nor a file. */
  stdin: ReadableStream<Uint8Array>;
}

/**
 * Reads the body of a relay. A file is checked against the 1 MiB limit
 * before it is read.
 *
 * @throws {RangeError} when the body is over 1 MiB
 */
export async function relayBody(source: BodySource): Promise<Uint8Array> {
  let body: Uint8Array;
  if (source.text.length > 0) {
    body = new TextEncoder().encode(source.text.join(" "));
  } else if (source.file !== undefined) {
    const path = source.file;
    const cannotRead = (error: unknown): never => {
      throw new Error(`Cannot read --file "${path}": ${reason(error)}`, {
        cause: error,
      });
    };
    const info = await Deno.stat(path).catch(cannotRead);
    // A pipe or device has no size yet: it is checked once read.
    if (info.isFile) checkSize(info.size);
    body = await Deno.readFile(path).catch(cannotRead);
  } else {
    body = await toBytes(source.stdin);
  }
  checkSize(body.length);
  return body;
}

function checkSize(size: number): void {
  if (size > MAX_BODY) {
    throw new RangeError(
      `Cannot relay: body of ${size} bytes exceeds ${MAX_BODY}`,
    );
  }
}

/**
 * The progress line of a relay.
 *
 * @example
 * ```ts
 * import { progressLine } from "./_relay.ts";
 * const line = progressLine(262_144, 1_048_576);
 * if (line !== "sent 262,144 / 1,048,576 bytes (25%)") throw new Error(line);
 * ```
 */
export function progressLine(sent: number, total: number): string {
  const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
  return `sent ${group(sent)} / ${group(total)} bytes (${percent}%)`;
}

function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

/**
 * Relays `body` with a receipt. When `stderr` is a terminal and the body is
 * {@linkcode PROGRESS_THRESHOLD} or more, a `\r` line there shows the bytes
 * of the body written to the socket so far; otherwise nothing is printed.
 */
export async function relayWithProgress(
  client: HubClient,
  ids: readonly bigint[],
  body: Uint8Array,
  stderr: Writer,
): Promise<Receipt> {
  if (body.length < PROGRESS_THRESHOLD || stderr.isTerminal?.() !== true) {
    return await client.relayWithReceipt(ids, body);
  }
  const out = new Output(stderr);
  const draw = (sent: number, end = "") =>
    out.write(`\r${progressLine(sent, body.length)}\x1b[K${end}`)
      .catch(() => {});
  // The frame's header and ids go first; the line counts body bytes.
  const start = client.bytesWritten + HEADER_SIZE + 1 + 8 * ids.length;
  const sentSoFar = () =>
    Math.max(0, Math.min(body.length, client.bytesWritten - start));
  const receipt = client.relayWithReceipt(ids, body);
  let shown = -1;
  const tick = () => {
    const sent = sentSoFar();
    if (sent !== shown) draw(shown = sent);
  };
  tick();
  const timer = setInterval(tick, PROGRESS_INTERVAL);
  try {
    const result = await receipt;
    // The hub has read every byte once it answers.
    await draw(body.length, "\n");
    return result;
  } catch (error) {
    await draw(sentSoFar(), "\n");
    throw error;
  } finally {
    clearInterval(timer);
  }
}

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const bare = text.replace(/\s*\(os error \d+\).*$/s, "");
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}
