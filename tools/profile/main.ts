/**
 * `deno task profile PRESET`: where a hub's CPU time goes under one workload.
 * It runs a hub with V8's CPU profiler, pinned to core 0, drives it with
 * `msghub bench --preset PRESET` from core 1, then sums the profile's samples
 * by function and prints the top of the list as a Markdown table.
 *
 * "(idle)" is time the hub's main thread ran no JavaScript: waiting, or in
 * Rust ops and the kernel (socket reads and writes; on loopback the kernel
 * also does the receiving side's TCP work in the sender's time).
 *
 * @module
 */
import { canPin, mainPath, repoRoot, startServer } from "../../bench/mod.ts";
import { parseFlags, UsageError } from "../../flags/mod.ts";

/** Where a profile node's code is. */
export interface CallFrame {
  /** The function's name; empty for an anonymous one. */
  functionName: string;
  /** The script's URL; empty for the runtime's own entries. */
  url: string;
  /** The function's line, from 0. */
  lineNumber: number;
}

/** The part of a V8 `.cpuprofile` file that the summary reads. */
export interface CpuProfile {
  /** The call tree's nodes. */
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  /** The node running at each sample, by id. */
  samples: number[];
}

/** Self time by function, largest first, as shares of all samples. */
export function summarise(
  profile: CpuProfile,
): Array<{ name: string; share: number }> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id);
    if (frame === undefined) continue;
    const file = frame.url.split("/").pop() ?? "";
    const name = file === ""
      ? frame.functionName || "(anonymous)"
      : `${frame.functionName || "(anonymous)"} (${file})`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  return [...counts.entries()]
    .map(([name, count]) => ({ name, share: count / total }))
    .sort((a, b) => b.share - a.share);
}

const USAGE = "Usage: deno task profile a|b|c|d [--duration 5s] [--top 15]";

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseFlags(Deno.args, {
      string: ["duration", "top"],
      boolean: ["help"],
      alias: { h: "help" },
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`deno task profile: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (flags.help === true) {
    console.log(USAGE);
    return 0;
  }
  const preset = String(flags._[0] ?? "");
  if (!/^[abcd]$/.test(preset)) {
    console.error(USAGE);
    return 2;
  }
  const duration = typeof flags.duration === "string" ? flags.duration : "5s";
  const top = Number(typeof flags.top === "string" ? flags.top : "15");
  const dir = await Deno.makeTempDir({ prefix: "msghub-profile-" });
  const pin = await canPin();
  const hub = await startServer({
    command: Deno.execPath(),
    args: [
      "run",
      "--allow-net",
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      mainPath(),
      "hub",
      "--port",
      "0",
      "--log-level",
      "warn",
    ],
    stream: "stdout",
    ready: /listening on (\S+):([0-9]+)/,
    pin,
  });
  const bench = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      mainPath(),
      "bench",
      "--host",
      hub.address.hostname,
      "--port",
      String(hub.address.port),
      "--preset",
      preset,
      "--duration",
      duration,
      ...(pin ? ["--pin"] : []),
    ],
    cwd: repoRoot(),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  await hub.stop();
  const summary = new TextDecoder().decode(bench.stdout).split("\n")
    .filter((line) => /^(workload|delivered|latency)/.test(line));
  let file: string | undefined;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".cpuprofile")) file = `${dir}/${entry.name}`;
  }
  if (file === undefined) {
    console.error(`No profile was written to ${dir}`);
    return 1;
  }
  const profile: CpuProfile = JSON.parse(await Deno.readTextFile(file));
  await Deno.remove(dir, { recursive: true });
  console.log(
    `Workload ${preset}${pin ? " (hub on core 0, generator on core 1)" : ""}:`,
  );
  for (const line of summary) console.log(`    ${line}`);
  console.log("");
  console.log("| share of hub samples | function |");
  console.log("| ---: | --- |");
  for (const { name, share } of summarise(profile).slice(0, top)) {
    console.log(`| ${(share * 100).toFixed(1)}% | ${name} |`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
