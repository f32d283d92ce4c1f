/** The `msghub` dispatcher of `main.ts`, through the real process. */
import { assertEquals, assertMatch } from "../_assert.ts";
import { run } from "../_cli.ts";

Deno.test("msghub usage errors are one line and a pointer to --help", async () => {
  const missing = await run([]);
  assertEquals([missing.code, missing.stderr, missing.stdout], [
    2,
    "msghub: missing command: hub, client or bench; run msghub --help\n",
    "",
  ]);
  const unknown = await run(["frob"]);
  assertEquals([unknown.code, unknown.stderr, unknown.stdout], [
    2,
    'msghub: unknown command "frob"; run msghub --help\n',
    "",
  ]);
  const help = await run(["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^Usage: msghub <command>/);
  for (const command of ["hub", "client", "bench"]) {
    assertMatch(help.stdout, new RegExp(`^  ${command} `, "m"));
  }
});
