/**
 * Builds the `msghub` binary the way `deno task compile` does and runs its hub
 * and client against each other. `deno compile` needs a `denort` runtime: it
 * downloads one, or takes `DENORT_BIN`. Where neither works the test is
 * ignored, and says why.
 */
import { assertEquals, assertMatch } from "../_assert.ts";

const root = new URL("../..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "msghub-compile-" });
const binary = `${dir}/msghub`;

async function compile(): Promise<string | null> {
  const tasks: { tasks: Record<string, string> } = JSON.parse(
    await Deno.readTextFile(`${root}deno.json`),
  );
  const task = tasks.tasks.compile ?? "";
  // The task's flags, with the output moved to a temporary folder.
  const args = task.split(" ").slice(1).map((arg) =>
    arg === "dist/msghub" ? binary : arg
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return null;
  // Deno's error chain, one cause a line, without the backtrace.
  const stderr = new TextDecoder().decode(out.stderr).trim();
  const causes = stderr.split("\n").map((line) =>
    line.replace(/^\s*\d+:\s*/, "").trim()
  )
    .filter((line) =>
      line !== "" && !line.startsWith("Stack backtrace") && line !== "<unknown>"
    );
  return causes.slice(-3).join("; ");
}

const failure = await compile();
if (failure !== null) {
  await Deno.remove(dir, { recursive: true });
  console.log(
    `compile_test: ignoring the compiled-binary test: deno compile failed (${failure}). ` +
      `It needs a denort runtime: a reachable download, or DENORT_BIN=/path/to/denort` +
      (Deno.env.get("DENORT_BIN")
        ? ` (DENORT_BIN is set to "${Deno.env.get("DENORT_BIN")}")`
        : " (DENORT_BIN is not set)"),
  );
}

Deno.test({
  name: "the compiled binary runs a hub and a client against each other",
  ignore: failure !== null,
  async fn() {
    try {
      const version = await new Deno.Command(binary, {
        args: ["--version"],
        stdout: "piped",
      }).output();
      assertMatch(
        new TextDecoder().decode(version.stdout),
        /^msghub \d+\.\d+\.\d+ \(deno /,
      );
      const hub = new Deno.Command(binary, {
        args: ["hub", "--port", "0"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = hub.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      let seen = "";
      while (!/listening on [^\s]+:\d+/.test(seen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`The hub exited before listening: ${seen}`);
        seen += value;
      }
      const port = /listening on [^\s]+:(\d+)/.exec(seen)![1]!;
      const client = await new Deno.Command(binary, {
        args: ["client", "--port", port, "echo", "from", "the", "binary"],
        stdout: "piped",
      }).output();
      assertEquals(
        new TextDecoder().decode(client.stdout).trim(),
        "from the binary",
      );
      hub.kill("SIGTERM");
      assertEquals((await hub.status).code, 0);
      await reader.cancel();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
