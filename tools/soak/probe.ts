/**
 * The soak's probe: a process of its own with one connection to the hub,
 * sending PING every 100 ms. Once a second it prints the slowest PONG of that
 * second as `WORST_MS PINGS`. Being outside the load generator, whose event
 * loop holds thousands of sockets, it times the hub and nothing else.
 *
 * Usage: `deno run --allow-net tools/soak/probe.ts PORT`
 *
 * @module
 */
import { encodeFrame, Kind } from "../../protocol/mod.ts";

const EVERY_MS = 100;

/** Pings the hub on `port` until the connection ends. */
async function probe(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const ping = encodeFrame(Kind.Ping);
  const reply = new Uint8Array(5);
  let worst = 0;
  let pings = 0;
  let second = performance.now();
  while (true) {
    const start = performance.now();
    let written = 0;
    while (written < ping.length) {
      written += await conn.write(ping.subarray(written));
    }
    let read = 0;
    while (read < reply.length) {
      const n = await conn.read(reply.subarray(read));
      if (n === null) return;
      read += n;
    }
    const now = performance.now();
    worst = Math.max(worst, now - start);
    pings++;
    if (now - second >= 1000) {
      console.log(`${Math.round(worst)} ${pings}`);
      worst = 0;
      pings = 0;
      second = now;
    }
    const wait = EVERY_MS - (performance.now() - start);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

if (import.meta.main) {
  try {
    await probe(Number(Deno.args[0]));
  } catch {
    // The hub went away: the soak reports that.
  }
}
