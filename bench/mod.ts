/**
 * The load-generation engine behind `msghub bench`: workloads and presets,
 * drivers for a msghub hub and for nats-server, the runner that measures one
 * workload, the text that reports it, and the servers under test as
 * subprocesses. It imports `client/` and `protocol/` and nothing above them;
 * it starts hubs as subprocesses (`main.ts hub`), never in-process.
 *
 * `cli/bench.ts` turns flags into a run; the report generator
 * (`tools/bench_suite/`), the soak (`tools/soak/`) and the profiler
 * (`tools/profile/`) build on the same engine through this module.
 *
 * @example A preset and the window it gets
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { defaultWindow, PRESETS } from "./mod.ts";
 *
 * assertEquals(PRESETS.c, { senders: 1, receivers: 1, size: 1024 * 1024 });
 * assertEquals(defaultWindow(PRESETS.c.size), 3);
 * ```
 *
 * @module
 */
export type { Address, Driver } from "./driver.ts";
export { msghubDriver } from "./msghub_driver.ts";
export { natsDriver } from "./nats_driver.ts";
export {
  defaultWindow,
  isPresetName,
  PRESET_NOTES,
  type PresetName,
  PRESETS,
  type Shape,
  WINDOW_BYTES,
  type Workload,
} from "./presets.ts";
export {
  type BenchResult,
  DEFAULT_SETTLE_MS,
  type LatencySummary,
  type Progress,
  runBench,
  type RunOptions,
  SATURATED_CORE_PERCENT,
  SATURATED_PERCENT,
} from "./runner.ts";
export {
  formatInt,
  formatMicros,
  progressLine,
  type RunContext,
  summaryLines,
} from "./report.ts";
export {
  type BenchCluster,
  canPin,
  GENERATOR_CORE,
  HUB_READY,
  HUB_WS_READY,
  mainPath,
  NATS_READY,
  NATS_WS_CONFIG,
  NATS_WS_READY,
  pinSelf,
  repoRoot,
  SERVER_CORE,
  type ServerProcess,
  startCluster,
  startHub,
  type StartOptions,
  startServer,
} from "./server_process.ts";
export { cpuModel, cpuTimeMs, parseStatusKiB } from "./proc.ts";
export { median, ratio } from "./stats.ts";
export type { Transport } from "./wire.ts";
export {
  type ConnectionsOptions,
  type ConnectionsResult,
  countFds,
  type ListenCounters,
  parseNetstat,
  runConnections,
  type ScaleServer,
  type WaveResult,
} from "./connections.ts";
