import { assert, assertEquals } from "../_assert.ts";
import type { BenchResult } from "../../bench/mod.ts";
import {
  compare,
  type SuiteRun,
  summarize,
  wsCompare,
} from "../../tools/bench_suite/suite.ts";
import { renderBenchmarks } from "../../tools/bench_suite/markdown.ts";
import { renderRatioChart } from "../../tools/bench_suite/svg.ts";

function result(deliveredPerSec: number, p99Us: number): BenchResult {
  return {
    server: "msghub",
    address: "127.0.0.1:1",
    transport: "tcp",
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
    latency: {
      samples: 1,
      sendTimes: 1,
      p50Us: p99Us / 2,
      p99Us,
      maxUs: p99Us,
    },
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

Deno.test("suite: WebSocket rows side by side, and msghub's WebSocket / TCP ratio", () => {
  const run = (
    label: string,
    server: SuiteRun["server"],
    rate: number,
  ): SuiteRun => ({
    label,
    server,
    round: 1,
    result: {
      ...result(rate, 1000),
      server: server.startsWith("nats") ? "nats" : "msghub",
      transport: server.endsWith("-ws") ? "ws" : "tcp",
    },
  });
  const rows = summarize([
    run("a", "msghub", 1000),
    run("a", "nats", 400),
    run("b", "msghub", 100),
    run("a", "msghub-ws", 800),
    run("a", "nats-ws", 400),
    run("b", "msghub-ws", 40),
    run("b", "nats-ws", 40),
  ]);
  const tcp = compare(rows);
  assertEquals(tcp.map((c) => c.label), ["a", "b"]);
  assertEquals(tcp[0]?.throughputRatio, 2.5, "TCP rows ignore WebSocket ones");
  const ws = wsCompare(rows);
  assertEquals(ws.map((c) => c.label), ["a", "b"]);
  assertEquals(ws[0]?.throughputRatio, 2);
  assertEquals(ws[0]?.wsTcpRatio, 0.8);
  assertEquals(ws[1]?.throughputRatio, 1);
  assertEquals(ws[1]?.wsTcpRatio, 0.4);
  const markdown = renderBenchmarks({
    machine: {
      date: "2026-01-01",
      nproc: 2,
      cpuModel: "x",
      kernel: "y",
      deno: "2",
      natsServer: "v2.9",
      pinned: true,
      msghub: "abc",
      codeChanged: false,
    },
    rounds: 3,
    wsRounds: 2,
    runSeconds: 5,
    totalSeconds: 1,
    throughput: tcp,
    latency: [],
    cluster: [],
    websocket: ws,
    runs: [],
    chartPath: "c.svg",
  });
  assert(markdown.includes("## Over WebSocket (medians of 2 rounds)"));
  assert(markdown.includes("| **2.00x** | 1,000 | **0.80x** |"), markdown);
  assert(markdown.includes("- a: msghub over WebSocket / over TCP 0.80x"));
  assert(markdown.includes("- b: msghub / NATS over WebSocket 1.00x"));
  assert(markdown.includes("(target >= 1.5x): missed."));
});
