/**
 * The hub's version: the one in `deno.json`, read at build time.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * if (!/^\d+\.\d+\.\d+/.test(VERSION)) throw new Error(VERSION);
 * ```
 *
 * @module
 */
import manifest from "../../deno.json" with { type: "json" };

/** The version of msghub, as `deno.json` has it. */
export const VERSION: string = manifest.version;
