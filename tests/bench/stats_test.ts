import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  encodeDeliver,
  encodeError,
  encodeFrame,
  encodeIdentityReply,
  Kind,
} from "../../protocol/mod.ts";
import {
  cpuPercent,
  LatencyHistogram,
  median,
  megabytesPerSecond,
  percentile,
  perSecond,
  ratio,
} from "../../bench/stats.ts";
import {
  elapsedSince,
  readStamp,
  stampLength,
  writeStamp,
} from "../../bench/stamp.ts";
import {
  coreBusyPercent,
  parseCoreTimes,
  parseStatCpuMs,
  parseStatusKiB,
} from "../../bench/proc.ts";
import { FrameWalker } from "../../bench/frame_walker.ts";
import { msgPayloadSize, NatsWalker } from "../../bench/nats_walker.ts";
import { encodePub } from "../../bench/nats_driver.ts";
import { defaultWindow, PRESETS } from "../../bench/presets.ts";
import { formatInt, formatMicros } from "../../bench/report.ts";

const encoder = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Feeds `bytes` split at `at`, and one byte at a time, to fresh walkers. */
function splits<W extends { feed(chunk: Uint8Array, nowUs: number): void }>(
  bytes: Uint8Array,
  make: () => W,
  nowUs: number,
): W[] {
  const walkers: W[] = [];
  for (let at = 0; at <= bytes.length; at++) {
    const walker = make();
    walker.feed(bytes.subarray(0, at), nowUs);
    walker.feed(bytes.subarray(at), nowUs);
    walkers.push(walker);
  }
  const single = make();
  for (let i = 0; i < bytes.length; i++) {
    single.feed(bytes.subarray(i, i + 1), nowUs);
  }
  walkers.push(single);
  return walkers;
}

Deno.test("histogram: exact below 128, nearest-rank percentiles, exact max", () => {
  const h = new LatencyHistogram();
  assert(Number.isNaN(h.percentile(50)));
  for (let v = 1; v <= 100; v++) h.record(v);
  assertEquals(h.count, 100);
  assertEquals(h.percentile(50), 50);
  assertEquals(h.percentile(99), 99);
  assertEquals(h.percentile(100), 100);
  assertEquals(h.percentile(0), 1);
  assertEquals(h.max, 100);
});

Deno.test("histogram: large values are within 1/64 above, never past the max", () => {
  for (const value of [128, 129, 1000, 65_537, 1_234_567, 0xffff_fff0]) {
    const h = new LatencyHistogram();
    h.record(value);
    h.record(1);
    const p = h.percentile(100);
    assertEquals(p, value, "p100 is capped at the exact max");
    const wide = new LatencyHistogram();
    wide.record(value);
    wide.record(value * 2);
    const p50 = wide.percentile(50);
    assert(p50 >= value && p50 <= value * (1 + 1 / 64), `${value} -> ${p50}`);
  }
});

Deno.test("histogram: negatives count as 0, huge values are clamped, merge adds", () => {
  const a = new LatencyHistogram();
  a.record(-5);
  a.record(2 ** 40);
  assertEquals(a.percentile(50), 0);
  assertEquals(a.max, 0xffff_ffff);
  const b = new LatencyHistogram();
  for (let i = 0; i < 8; i++) b.record(10);
  b.merge(a);
  assertEquals(b.count, 10);
  assertEquals(b.percentile(50), 10);
  assertEquals(b.max, 0xffff_ffff);
});

Deno.test("percentile, median and rates", () => {
  const values = [9, 1, 8, 2, 7, 3, 6, 4, 5, 10];
  assertEquals(percentile(values, 50), 5);
  assertEquals(percentile(values, 90), 9);
  assertEquals(percentile(values, 99), 10);
  assertEquals(percentile(values, 0), 1);
  assert(Number.isNaN(percentile([], 50)));
  assertEquals(values[0], 9, "the input is not sorted in place");
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([7]), 7);
  assert(Number.isNaN(median([])));
  assertEquals(perSecond(500, 250), 2000);
  assertEquals(perSecond(500, 0), 0);
  assertEquals(megabytesPerSecond(3_000_000, 1500), 2);
  assertEquals(cpuPercent(450, 500), 90);
  assertEquals(ratio(3, 2), 1.5);
  assert(Number.isNaN(ratio(3, 0)));
  assert(Number.isNaN(ratio(NaN, 2)));
});

Deno.test("stamps round-trip at every length and wrap harmlessly", () => {
  assertEquals(stampLength(2), 0);
  assertEquals(stampLength(3), 3);
  assertEquals(stampLength(6), 6);
  assertEquals(stampLength(1900), 6);
  const us = 0x1234_5678_9abc;
  for (let length = 3; length <= 6; length++) {
    const body = new Uint8Array(8).fill(0xee);
    writeStamp(body, 1, length, us);
    assertEquals(body[0], 0xee);
    assertEquals(body[1 + length], 0xee);
    const stamp = readStamp(body, 1, length);
    assertEquals(stamp, us % 2 ** (8 * length));
    assertEquals(elapsedSince(stamp, length, us + 1500), 1500);
  }
  assertEquals(elapsedSince(0xff_fff0, 3, 0x100_0010), 0x20);
});

Deno.test("proc parsers: CPU time, status fields, core times", () => {
  const stat =
    "4242 (deno) worker) R 1 4242 4242 0 -1 4194560 900 0 0 0 1234 321 0 0 20 0 8 0";
  assertEquals(parseStatCpuMs(stat), 15_550);
  assertThrows(() => parseStatCpuMs("garbage"));
  const status = "Name:\tdeno\nVmPeak:\t 900 kB\nVmHWM:\t  51200 kB\n";
  assertEquals(parseStatusKiB(status, "VmHWM"), 51200);
  assertEquals(parseStatusKiB(status, "VmRSS"), null);
  const proc = "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 10 0 5 80 5 0 0 0 0 0\n" +
    "cpu1 1 0 1 1 0 0 1 0 0 0\n";
  assertEquals(parseCoreTimes(proc, 0), { busy: 15, total: 100 });
  assertEquals(parseCoreTimes(proc, 1), { busy: 3, total: 4 });
  assertEquals(parseCoreTimes(proc, 2), null);
  assertEquals(
    coreBusyPercent({ busy: 10, total: 100 }, { busy: 40, total: 200 }),
    30,
  );
  assertEquals(coreBusyPercent(null, { busy: 1, total: 2 }), null);
});

Deno.test("msgPayloadSize: valid MSG and HMSG lines", () => {
  const size = (line: string) => {
    const bytes = encoder.encode(`xx${line}yy`);
    return msgPayloadSize(bytes, 2, bytes.length - 2);
  };
  assertEquals(size("MSG bench.0 1 1900"), 1900);
  assertEquals(size("MSG s 17 0"), 0);
  assertEquals(size("MSG s 1 _INBOX.x 42"), 42);
  assertEquals(size("HMSG s 1 12 30"), 30);
  assertEquals(size("HMSG s 1 reply 12 30"), 30);
});

Deno.test("msgPayloadSize: malformed lines are -1", () => {
  const bad = [
    "",
    "MSG",
    "MSG ",
    "MSG s",
    "MSG s 1",
    "MSG s 1 x",
    "MSG s 1 12a",
    "MSG s 1 r extra 5",
    "MSG  s 1 5",
    "MSGs 1 5",
    "PUB s 5",
    "HMSG s 1 5",
    "msg s 1 5",
    "MSG s 1 12345678901234567",
  ];
  for (const line of bad) {
    const bytes = encoder.encode(line);
    assertEquals(msgPayloadSize(bytes, 0, bytes.length), -1, line);
  }
});

Deno.test("NatsWalker counts messages, stamps and control lines at every split", () => {
  const body = new Uint8Array(8);
  writeStamp(body, 0, 6, 1_000);
  const bytes = concat([
    encoder.encode('INFO {"server_id":"x","max_payload":2097152}\r\n'),
    encoder.encode("+OK\r\nPING\r\n"),
    encoder.encode("MSG bench.0 1 8\r\n"),
    body,
    encoder.encode("\r\nPONG\r\nMSG bench.0 1 _INBOX.r 2\r\nhi\r\n"),
    encoder.encode("MSG bench.0 1 8\r\n"),
    body,
    encoder.encode("\r\n"),
  ]);
  for (
    const walker of splits(
      bytes,
      () => new NatsWalker(new LatencyHistogram(), 6),
      1_250,
    )
  ) {
    assertEquals(walker.delivered, 3);
    assertEquals(walker.bodyBytes, 18);
    assertEquals(walker.pings, 1);
    assertEquals(walker.pongs, 1);
    assertEquals(walker.infos, 1);
    assertEquals(walker.error, null);
  }
  const histogram = new LatencyHistogram();
  const walker = new NatsWalker(histogram, 6);
  walker.feed(bytes, 1_250);
  assertEquals(histogram.count, 2, "the 2-byte body carries no stamp");
  assertEquals(histogram.max, 250);
});

Deno.test("NatsWalker stops at -ERR and at a line it cannot parse", () => {
  const err = new NatsWalker(new LatencyHistogram(), 0);
  err.feed(encoder.encode("-ERR 'Slow Consumer'\r\nMSG s 1 1\r\nx\r\n"), 0);
  assertEquals(err.error?.message, "'Slow Consumer'");
  assertEquals(err.delivered, 0);
  const junk = new NatsWalker(new LatencyHistogram(), 0);
  junk.feed(encoder.encode("WHAT\r\n"), 0);
  assert(junk.error?.message.includes("WHAT"));
});

Deno.test("encodePub lays out PUB, the body and its CRLF", () => {
  const { message, bodyOffset } = encodePub("msghub.bench.1", 4);
  assertEquals(
    new TextDecoder().decode(message.subarray(0, bodyOffset)),
    "PUB msghub.bench.1 4\r\n",
  );
  assertEquals(message.length, bodyOffset + 4 + 2);
});

Deno.test("FrameWalker counts DELIVER frames and control frames at every split", () => {
  const stamped = new Uint8Array(10);
  writeStamp(stamped, 0, 6, 5_000);
  const bytes = concat([
    encodeIdentityReply(7),
    encodeDeliver(3, stamped),
    encodeFrame(Kind.Ping),
    encodeDeliver(3, new Uint8Array(0)),
    encodeDeliver(3, stamped),
    encodeFrame(Kind.Pong),
  ]);
  for (
    const walker of splits(
      bytes,
      () => new FrameWalker(new LatencyHistogram(), 6),
      5_040,
    )
  ) {
    assertEquals(walker.delivered, 3);
    assertEquals(walker.bodyBytes, 20);
    assertEquals(walker.pings, 1);
    assertEquals(walker.id, 7n);
    assertEquals(walker.error, null);
  }
  const histogram = new LatencyHistogram();
  new FrameWalker(histogram, 6).feed(bytes, 5_040);
  assertEquals(histogram.count, 2, "the empty body carries no stamp");
  assertEquals(histogram.percentile(50), 40);
});

Deno.test("FrameWalker notes an ERROR and the 6-byte preset body's stamp", () => {
  const body = new Uint8Array(PRESETS.a.size);
  writeStamp(body, 0, stampLength(body.length), 77);
  const bytes = concat([
    encodeDeliver(1, body),
    encodeError(3, "slow consumer"),
  ]);
  for (
    const walker of splits(
      bytes,
      () => new FrameWalker(new LatencyHistogram(), 6),
      100,
    )
  ) {
    assertEquals(walker.delivered, 1);
    assertEquals(walker.error?.code, 3);
    assert(walker.error?.message.startsWith("slow"));
  }
});

Deno.test("default window and formats", () => {
  assertEquals(defaultWindow(1024 * 1024), 3);
  assert(defaultWindow(6) > 50_000);
  assertEquals(formatInt(1234567), "1,234,567");
  assertEquals(formatInt(-1000), "-1,000");
  assertEquals(formatInt(12), "12");
  assertEquals(formatMicros(850), "850 us");
  assertEquals(formatMicros(2_500_000), "2.50 s");
});
