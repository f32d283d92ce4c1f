import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
} from "../_assert.ts";
import { encodeFrame, ErrorCode, Kind } from "../../protocol/mod.ts";
import { createLogger } from "../../cli/hub/log.ts";
import { hubOptions } from "../../cli/hub/mod.ts";
import { UsageError } from "../../flags/mod.ts";
import { RawClient } from "../_helpers.ts";
import { HubProcess } from "../_cli.ts";

const EPOCH = () => new Date(0);

Deno.test("json logger: one object a line, fields after time, level and msg", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    format: "json",
    write: (line) => lines.push(line),
    now: EPOCH,
  });
  log("debug", "connect", { id: 1 });
  log("info", "close", { id: 2, reason: "client quit" });
  log("warn", "odd", { msg: "clash", big: 2n ** 70n, small: 5n, ok: true });
  assertEquals(lines.length, 2, "debug is below info");
  assertEquals(JSON.parse(lines[0]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "close",
    id: 2,
    reason: "client quit",
  });
  assertEquals(JSON.parse(lines[1]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "warn",
    msg: "odd",
    field_msg: "clash",
    big: "1180591620717411303424",
    small: 5,
    ok: true,
  });
});

Deno.test("text logger: time, level, message, then key=value, quoted when needed", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "debug",
    format: "text",
    write: (line) => lines.push(line),
    now: EPOCH,
  });
  log("debug", "close", { id: 3, reason: "client quit", empty: "" });
  log("error", "accept failed", { error: 'say "no"', retry_ms: 5 });
  assertEquals(lines, [
    '1970-01-01T00:00:00.000Z DEBUG close id=3 reason="client quit" empty=""',
    '1970-01-01T00:00:00.000Z ERROR accept failed error="say \\"no\\"" retry_ms=5',
  ]);
});

Deno.test("hub --log-format: text, json, and nothing else", async () => {
  await hubOptions(["--log-format", "json"]);
  await hubOptions(["--log-format=text"]);
  await assertRejects(
    () => hubOptions(["--log-format", "xml"]),
    UsageError,
    'Invalid option "--log-format": "xml" is not text or json',
  );
});

interface Record {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

Deno.test("hub --log-format json: every line parses; closes carry id and reason; no token, no body", async () => {
  const token = "t0ken-that-must-not-leak";
  const body = "body-that-must-not-leak";
  const hub = await HubProcess.start(
    ["--log-format", "json", "--log-level", "debug"],
    { logs: true, env: { MSGHUB_TOKEN: token } },
  );
  try {
    await using typist = await RawClient.connect(hub.port); // id 1
    await typist.send(`auth ${token}\nidentity\nrelay 1 ${body}\n`);
    assertEquals(await typist.line(), "auth ok");
    assertEquals(await typist.line(), "identity 1");
    assertEquals(await typist.line(), `message 1 ${body.length}`);
    assertEquals(await typist.line(), body);
    assertEquals(await typist.line(), "relayed 1");
    await typist.send("quit\n");
    assert(await typist.closedByPeer());
    await using guesser = await RawClient.connect(hub.port); // id 2
    await guesser.send(encodeFrame(Kind.Auth, new TextEncoder().encode("no")));
    assertEquals((await guesser.frame()).payload[0], ErrorCode.Unauthorized);
    await hub.log(
      (line) => line.includes('"reason":"unauthorized"'),
      "the unauthorized close",
    );
  } finally {
    assertEquals(await hub.stop(), 0);
  }
  const records = hub.logs.map((line) => JSON.parse(line) as Record);
  for (const record of records) {
    assertMatch(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert(["debug", "info", "warn", "error"].includes(record.level));
  }
  const find = (msg: string, fields: { [key: string]: unknown } = {}) =>
    records.find((r) =>
      r.msg === msg &&
      Object.entries(fields).every(([key, value]) => r[key] === value)
    );
  assert(find("listening", { level: "info", tls: false }));
  assert(find("connect", { level: "debug", id: 1 }));
  assert(find("registered", { level: "debug", id: 1, dialect: "text" }));
  assert(find("close", { level: "debug", id: 1, reason: "client quit" }));
  assert(find("close", { level: "info", id: 2, reason: "unauthorized" }));
  assert(find("shutting down", { level: "info" }));
  const all = hub.logs.join("\n");
  assert(!all.includes(token), "the token is never logged");
  assert(!all.includes(body), "bodies are never logged");
});
