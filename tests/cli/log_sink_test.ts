import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { StderrSink } from "../../cli/hub/log.ts";

Deno.test("log lines never wait on a slow stderr: past the backlog they are counted and reported", async () => {
  const written: string[] = [];
  let release!: () => void;
  let stalled = true;
  const sink = new StderrSink(async (data) => {
    if (stalled) await new Promise<void>((resolve) => release = resolve);
    written.push(new TextDecoder().decode(data));
    return data.length;
  });
  const line = "x".repeat(1000);
  // 3,000 lines of 1 KB while stderr takes nothing: each write returns at once.
  for (let i = 0; i < 3000; i++) sink.write(`${i} ${line}`);
  stalled = false;
  release();
  await sink.flush();
  const lines = written.join("").split("\n").filter((l) => l !== "");
  const kept = lines.filter((l) => l.endsWith(line));
  assert(kept.length < 3000 && kept.length > 1000, `${kept.length} lines kept`);
  assertEquals(
    kept[0]!.split(" ")[0],
    "0",
    "the oldest lines are kept, in order",
  );
  assertMatch(
    lines.at(-1)!,
    new RegExp(`^${3000 - kept.length} log lines dropped`),
  );
});
