/**
 * `msghub client listen`: print, or save to files, the messages relayed to
 * this client.
 *
 * @module
 */
import type { HubClient, Received } from "./_hub_client.ts";
import type { Output } from "./_io.ts";
import { identityJson, messageJson, savedJson } from "./_json.ts";

/** How `listen` reports what it receives. */
export interface ListenOptions {
  /** Exit 0 after this many messages; run until the hub closes without. */
  count?: number | undefined;
  /** One JSON value per line instead of text. */
  json: boolean;
  /** Save each body to a file in this folder instead of printing it. */
  out?: string | undefined;
}

/** Digits of the arrival number in a saved file's name. */
const SEQUENCE_DIGITS = 6;
const SAVED_NAME = /^([0-9]+)-from-[0-9]+\.bin$/;

/**
 * The name of the `sequence`-th body saved, from `sender`: names sort in
 * arrival order (up to 999,999) and show the sender.
 *
 * @example
 * ```ts
 * import { savedName } from "./_listen.ts";
 * if (savedName(1, 3n) !== "000001-from-3.bin") throw new Error("Wrong name");
 * ```
 */
export function savedName(sequence: number, sender: bigint): string {
  return `${
    String(sequence).padStart(SEQUENCE_DIGITS, "0")
  }-from-${sender}.bin`;
}

/**
 * Prints this client's id, then each message as it arrives, until `count`
 * messages (exit 0) or the hub closes the connection (throws).
 */
export async function listen(
  client: HubClient,
  stdout: Output,
  options: ListenOptions,
): Promise<number> {
  const save = options.out === undefined ? null : await saver(options.out);
  const id = await client.identity();
  await stdout.line(options.json ? identityJson(id) : `id ${id}`);
  let seen = 0;
  for await (const message of client) {
    if (save !== null) {
      const file = await save(message);
      await stdout.line(
        options.json
          ? savedJson(message.sender, file, message.body.length)
          : `message from ${message.sender}: ${message.body.length} bytes in ${file}`,
      );
    } else if (options.json) {
      await stdout.line(messageJson(message));
    } else {
      await stdout.write(
        `message from ${message.sender}: `,
        message.body,
        "\n",
      );
    }
    if (++seen === options.count) return 0;
  }
  throw new Error("Connection closed by the hub");
}

/**
 * Creates `dir` and returns the function that saves one body in it. Numbers
 * go on after the highest already there, and a file is never overwritten.
 */
async function saver(
  dir: string,
): Promise<(message: Received) => Promise<string>> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`Cannot create --out folder "${dir}": ${reason(error)}`, {
      cause: error,
    });
  }
  let sequence = 0;
  for await (const entry of Deno.readDir(dir)) {
    const number = SAVED_NAME.exec(entry.name)?.[1];
    if (number !== undefined) sequence = Math.max(sequence, Number(number));
  }
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  return async (message) => {
    const file = base + savedName(++sequence, message.sender);
    try {
      await Deno.writeFile(file, message.body, { createNew: true });
    } catch (error) {
      throw new Error(`Cannot save "${file}": ${reason(error)}`, {
        cause: error,
      });
    }
    return file;
  };
}

/** `File exists (os error 17): open 'x'` becomes `file exists`. */
function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const bare = text.replace(/\s*\(os error \d+\).*$/s, "");
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}
