/**
 * The hub's log events: their levels and the logger that receives them.
 * Library code never prints; whoever runs the hub (`main.ts`, a test) passes
 * a {@linkcode HubLogger} and decides what becomes of each event.
 *
 * @example A logger that keeps warnings and errors
 * ```ts
 * import type { HubLogger, LogLevel } from "./log.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const kept: string[] = [];
 * const serious: LogLevel[] = ["warn", "error"];
 * const logger: HubLogger = (level, message) => {
 *   if (serious.includes(level)) kept.push(`${level} ${message}`);
 * };
 * logger("info", "listening", { port: 1234 });
 * logger("warn", "slow consumer", { id: 7 });
 * assertEquals(kept, ["warn slow consumer"]);
 * ```
 *
 * @module
 */

/** Severity of a hub log event. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The fields of a log event: names and plain values, never a token or a body. */
export type LogFields = Record<string, string | number | bigint | boolean>;

/**
 * Receives the hub's log events. Library code never prints: `main.ts` turns
 * these into lines on stderr. `fields` never holds a token or a body.
 */
export type HubLogger = (
  level: LogLevel,
  message: string,
  fields: LogFields,
) => void;
