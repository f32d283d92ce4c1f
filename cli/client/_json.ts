/**
 * The `--json` output of `msghub client`: one JSON value per line. Ids are
 * strings, because a u64 does not fit a JSON number exactly.
 *
 * @module
 */
import type { Receipt, Received } from "./_hub_client.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A body as JSON carries it: text when it is UTF-8, base64 otherwise. */
export interface JsonBody {
  /** The body as text, or in base64. */
  body: string;
  /** How `body` is written. */
  encoding: "utf8" | "base64";
}

/**
 * `body` as text when it is valid UTF-8, else as base64.
 *
 * @example
 * ```ts
 * import { jsonBody } from "./_json.ts";
 * const binary = jsonBody(new Uint8Array([0xff, 0x00]));
 * if (binary.encoding !== "base64" || binary.body !== "/wA=") throw new Error("Not base64");
 * ```
 */
export function jsonBody(body: Uint8Array): JsonBody {
  try {
    return { body: utf8.decode(body), encoding: "utf8" };
  } catch {
    return { body: body.toBase64(), encoding: "base64" };
  }
}

/**
 * A received message: `{"sender":"3","body":"hi","encoding":"utf8"}`.
 *
 * @example
 * ```ts
 * import { messageJson } from "./_json.ts";
 * const line = messageJson({ sender: 3n, body: new TextEncoder().encode("hi") });
 * if (line !== '{"sender":"3","body":"hi","encoding":"utf8"}') throw new Error(line);
 * ```
 */
export function messageJson(message: Received): string {
  return JSON.stringify({
    sender: String(message.sender),
    ...jsonBody(message.body),
  });
}

/**
 * A list of ids: `["2","3"]`, or `[]`.
 *
 * @example
 * ```ts
 * import { idsJson } from "./_json.ts";
 * if (idsJson([2n, 3n]) !== '["2","3"]') throw new Error("Wrong list");
 * ```
 */
export function idsJson(ids: readonly bigint[]): string {
  return JSON.stringify(ids.map(String));
}

/**
 * What the hub echoed: `{"body":"hi","encoding":"utf8"}`.
 *
 * @example
 * ```ts
 * import { echoJson } from "./_json.ts";
 * const line = echoJson(new TextEncoder().encode("hi"));
 * if (line !== '{"body":"hi","encoding":"utf8"}') throw new Error(line);
 * ```
 */
export function echoJson(body: Uint8Array): string {
  return JSON.stringify(jsonBody(body));
}

/**
 * A relay's receipt: `{"delivered":1,"unknown":["99"]}`.
 *
 * @example
 * ```ts
 * import { receiptJson } from "./_json.ts";
 * const line = receiptJson({ delivered: 1, unknown: [99n] });
 * if (line !== '{"delivered":1,"unknown":["99"]}') throw new Error(line);
 * ```
 */
export function receiptJson(receipt: Receipt): string {
  return JSON.stringify({
    delivered: receipt.delivered,
    unknown: receipt.unknown.map(String),
  });
}

/**
 * This client's id, for `identity --json` and the first line of
 * `listen --json`: `{"id":"5"}`.
 *
 * @example
 * ```ts
 * import { identityJson } from "./_json.ts";
 * if (identityJson(5n) !== '{"id":"5"}') throw new Error("Wrong id");
 * ```
 */
export function identityJson(id: bigint): string {
  return JSON.stringify({ id: String(id) });
}

/**
 * A body `listen --out` saved: `{"sender":"3","file":"in/000001-from-3.bin","bytes":5}`.
 *
 * @example
 * ```ts
 * import { savedJson } from "./_json.ts";
 * const line = savedJson(3n, "in/000001-from-3.bin", 5);
 * if (JSON.parse(line).bytes !== 5) throw new Error(line);
 * ```
 */
export function savedJson(sender: bigint, file: string, bytes: number): string {
  return JSON.stringify({ sender: String(sender), file, bytes });
}
