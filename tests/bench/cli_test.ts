import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { NO_NATS } from "../_nats.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("msghub bench --preset a --count 2000 delivers 2000 x 99 messages", async () => {
  // The bench starts and stops a hub of its own.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "bench", "--preset", "a", "--count", "2000"],
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `${stdout}\n${stderr}`);
  assertMatch(stdout, /^delivered\s+198,000 msgs /m);
  assertMatch(stdout, /^undelivered\s+0 \(of 198,000 expected\)/m);
  assertMatch(stdout, /^latency\s+p50 /m);
  assertMatch(stdout, /^generator\s+CPU /m);
});

Deno.test({
  name: "msghub bench --cluster relays from one hub to another through NATS",
  ignore: NO_NATS,
  async fn() {
    // nats-server and both hubs are the bench's own; senders and receivers
    // are on different hubs, so every message crosses.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "bench",
        "--cluster",
        "--preset",
        "d",
        "--count",
        "3000",
      ],
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `${stdout}\n${stderr}`);
    assertMatch(stdout, /two hubs in a cluster through nats-server/);
    assertMatch(stdout, /^delivered\s+30,000 msgs /m);
    assertMatch(stdout, /^undelivered\s+0 \(of 30,000 expected\)/m);
  },
});

Deno.test("msghub bench --json prints one JSON object on stdout", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "bench", "--count", "200", "--json"],
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = stdout.split("\n");
  assertEquals(lines.length, 2, stdout);
  const result: unknown = JSON.parse(lines[0]!);
  assert(typeof result === "object" && result !== null, lines[0]);
  const { delivered, undelivered } = result as Record<string, unknown>;
  assertEquals([delivered, undelivered], [200, 0]);
});

Deno.test("msghub bench usage errors are one line and a pointer to --help", async () => {
  const cases: Array<[string[], string]> = [
    [["--bogus"], 'unknown option: "--bogus"'],
    [["--preset", "x"], 'invalid --preset: "x", expected a, b, c or d'],
    [
      ["--count", "5", "--duration", "1s"],
      "options --count and --duration exclude each other",
    ],
    [["extra"], 'unexpected argument: "extra"'],
  ];
  for (const [args, problem] of cases) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "bench", ...args],
      stdin: "null",
    }).output();
    assertEquals(out.code, 2, args.join(" "));
    assertEquals(
      new TextDecoder().decode(out.stderr),
      `msghub bench: ${problem}; run msghub bench --help\n`,
    );
    assertEquals(out.stdout.length, 0);
  }
});
