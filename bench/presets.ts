/**
 * Workloads: how many senders, receivers per sender, body size and pace.
 * The presets are the project's standard shapes; delivered messages are what
 * counts.
 *
 * @module
 */

/** The preset workloads' names. */
export type PresetName = "a" | "b" | "c" | "d";

/** The shape of a workload, before its length is chosen. */
export interface Shape {
  /** Connections that send. */
  senders: number;
  /** Receiving connections per sender; each relay names all of them. */
  receivers: number;
  /** Body bytes per message. */
  size: number;
}

/** The preset shapes. */
export const PRESETS: Readonly<Record<PresetName, Readonly<Shape>>> = {
  a: { senders: 1, receivers: 99, size: 6 },
  b: { senders: 1, receivers: 99, size: 1900 },
  c: { senders: 1, receivers: 1, size: 1024 * 1024 },
  d: { senders: 10, receivers: 1, size: 100 },
};

/** One line per preset, for usage text and reports. */
export const PRESET_NOTES: Readonly<Record<PresetName, string>> = {
  a: "1 sender -> 99 receivers, 6-byte body",
  b: "1 sender -> 99 receivers, 1,900-byte body",
  c: "1 sender -> 1 receiver, 1 MiB body",
  d: "10 senders -> 1 receiver each, 100-byte body",
};

/** Whether `name` is a preset. */
export function isPresetName(name: string): name is PresetName {
  return name === "a" || name === "b" || name === "c" || name === "d";
}

/** A complete workload: its shape, when to stop and how fast to send. */
export interface Workload extends Shape {
  /** Relays per sender to send; when absent the run lasts `durationMs`. */
  count?: number;
  /** How long senders send when no count is given. */
  durationMs: number;
  /** Relays per second per sender; 0 sends as fast as the socket allows. */
  rate: number;
  /**
   * Most messages a sender may have ahead of its slowest live receiver; 0
   * for no limit.
   */
  window: number;
}

/** Bytes of delivered frames allowed in flight to one receiver by default. */
export const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * The default window for a body size: {@linkcode WINDOW_BYTES} of frames,
 * half of the hub's default per-client queue limit, so an open-loop sender
 * cannot get a receiver dropped as a slow consumer by outrunning what the
 * generator reads. At least 2 so that a large message is always pipelined.
 *
 * @example
 * ```ts
 * import { defaultWindow } from "./presets.ts";
 * if (defaultWindow(1024 * 1024) !== 3) throw new Error("Expected 3 messages");
 * ```
 */
export function defaultWindow(size: number): number {
  // A DELIVER frame is 13 bytes plus the body; a NATS MSG line is similar.
  return Math.max(2, Math.floor(WINDOW_BYTES / (size + 64)));
}
