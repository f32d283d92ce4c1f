/**
 * The suite's connection-scale section: `msghub bench --connections N` run
 * once in a process of its own (a hub and nats-server in turn, two waves
 * each), rendered as a Markdown table with msghub / NATS ratios.
 *
 * @module
 */
import {
  type ConnectionsResult,
  formatInt,
  formatMicros,
  mainPath,
  ratio,
  repoRoot,
} from "../../bench/mod.ts";

/** Clients per wave in the suite: the issue's 15,000. */
export const SUITE_CONNECTIONS = 15_000;

/** Runs the connection-scale run; `null` with the reason when it failed. */
export async function runConnectionScale(): Promise<
  { results: ConnectionsResult[] } | { error: string }
> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      mainPath(),
      "bench",
      "--connections",
      String(SUITE_CONNECTIONS),
      "--json",
    ],
    cwd: repoRoot(),
    stdin: "null",
  }).output();
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").pop();
  try {
    const parsed = JSON.parse(last ?? "") as { results?: ConnectionsResult[] };
    if (Array.isArray(parsed.results)) return { results: parsed.results };
  } catch {
    // Reported below.
  }
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
  return { error: `exited ${out.code}: ${stderr.slice(-2).join(" | ")}` };
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

/**
 * The Markdown section of a connection-scale run.
 *
 * @example
 * ```ts
 * import { renderConnectionScale } from "./connections.ts";
 * const text = renderConnectionScale({ error: "no nats-server" });
 * if (!text.includes("no nats-server")) throw new Error("Expected the reason");
 * ```
 */
export function renderConnectionScale(
  run: { results: readonly ConnectionsResult[] } | { error: string },
): string {
  const lines = [
    "## Connection scale",
    "",
  ];
  if ("error" in run) {
    lines.push(`The run failed: ${run.error}`, "");
    return lines.join("\n");
  }
  const first = run.results[0];
  lines.push(
    `\`msghub bench --connections ${
      formatInt(first?.count ?? SUITE_CONNECTIONS)
    }\`: idle clients connect (${
      formatInt(first?.parallel ?? 0)
    } at a time) and register, stay, then all leave; two waves per server, each server fresh and pinned to core 0. Memory per connection is RSS growth over the idle baseline divided by the clients; the list is one LIST answered with every id (median of 5).`,
    "",
    "| server | wave | connects/s | each p99 | per connection | RSS with clients | RSS after leaving | fds after | list |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of run.results) {
    r.waves.forEach((w, i) => {
      lines.push(
        `| ${r.server} | ${i + 1} | ${formatInt(w.perSecond)}${
          w.failed > 0 ? ` (${formatInt(w.failed)} failed)` : ""
        } | ${formatMicros(w.connectP99Us)} | ${kb(w.bytesPerConnection)} | ${
          mib(w.rssKiB)
        } | ${mib(w.rssAfterKiB)} | ${w.fdsAfter} (idle ${r.baselineFds}) | ${
          w.listUs === null ? "" : formatMicros(w.listUs.median)
        } |`,
      );
    });
  }
  const hub = run.results.find((r) => r.server === "msghub");
  const nats = run.results.find((r) => r.server === "nats");
  if (hub !== undefined && nats !== undefined) {
    const w = (r: ConnectionsResult) => r.waves[0]!;
    lines.push(
      "",
      `msghub / NATS, first wave: connect rate ${
        ratio(w(hub).perSecond, w(nats).perSecond).toFixed(2)
      }, memory per connection ${
        ratio(w(hub).bytesPerConnection, w(nats).bytesPerConnection).toFixed(2)
      }; idle RSS ${mib(hub.baselineRssKiB)} against ${
        mib(nats.baselineRssKiB)
      }.`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
