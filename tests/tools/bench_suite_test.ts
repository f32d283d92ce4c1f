import { assert, assertEquals } from "../_assert.ts";
import type { BenchResult } from "../../bench/mod.ts";
import {
  compare,
  type SuiteRun,
  summarize,
} from "../../tools/bench_suite/suite.ts";
import { renderRatioChart } from "../../tools/bench_suite/svg.ts";

function result(deliveredPerSec: number, p99Us: number): BenchResult {
  return {
    server: "msghub",
    address: "127.0.0.1:1",
    workload: {
      senders: 1,
      receivers: 1,
      size: 6,
      durationMs: 1,
      rate: 0,
      window: 0,
    },
    sent: 1,
    sentPerSender: { min: 1, max: 1 },
    expected: 1,
    delivered: 1,
    undelivered: 0,
    bodyBytes: 6,
    sendMs: 1,
    elapsedMs: 1,
    sentPerSec: 1,
    deliveredPerSec,
    megabytesPerSec: deliveredPerSec / 1e6,
    latency: { samples: 1, p50Us: p99Us / 2, p99Us, maxUs: p99Us },
    generatorCpuPercent: 50,
    generatorCoreBusyPercent: null,
    generatorSaturated: false,
    serverCpuPercent: 80,
    serverCoreBusyPercent: null,
    serverPeakRssKiB: 1024,
    closes: [],
    stalled: false,
  };
}

Deno.test("suite: medians over rounds and msghub / NATS ratios", () => {
  const runs: SuiteRun[] = [];
  [300, 100, 200].forEach((rate, i) => {
    runs.push({
      label: "a",
      server: "msghub",
      round: i + 1,
      result: result(rate, 1000 * (i + 1)),
    });
    runs.push({
      label: "a",
      server: "nats",
      round: i + 1,
      result: { ...result(rate / 2, 500), server: "nats" },
    });
  });
  runs.push({
    label: "b",
    server: "msghub",
    round: 1,
    result: null,
    error: "boom",
  });
  const rows = summarize(runs);
  assertEquals(rows.length, 3);
  assertEquals(rows[0]?.deliveredPerSec, 200);
  assertEquals(rows[0]?.p99Us, 2000);
  assertEquals(rows[0]?.maxUs, 3000);
  assertEquals(rows[2]?.failed, 1);
  assertEquals(rows[2]?.problems, ["round 1: boom"]);
  const [a, b] = compare(rows);
  assertEquals(a?.throughputRatio, 2);
  assertEquals(a?.p99Ratio, 4);
  assert(Number.isNaN(b!.throughputRatio));
});

Deno.test("chart: bars with their ratio, a gap without a figure, escaped title", () => {
  const svg = renderRatioChart([
    { label: "a", value: 2.5 },
    { label: "b", value: 0.5 },
    { label: "c", value: NaN },
  ], { title: "t <&>" });
  assert(svg.includes("2.50x") && svg.includes("0.50x"));
  assert(svg.includes("no figure"));
  assert(svg.includes("t &lt;&amp;&gt;"));
});
