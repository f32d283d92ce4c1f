/**
 * The option table, `hub/options.ts`, and its checks,
 * `hub/option_checks.ts`: parsing, checks and their one wording, and the README's hub option table, which must show the same rows.
 *
 * Run as a program, this file rewrites the README's table from the option
 * table: `deno run --allow-read --allow-write tests/hub/options_test.ts`.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
  assertThrows,
} from "../_assert.ts";
import {
  checkOption,
  ConfigError,
  parseOption,
} from "../../hub/option_checks.ts";
import {
  formatDefault,
  formatDuration,
  formatSize,
  HUB_OPTION_KEYS,
  HUB_OPTIONS,
  type HubOptionKey,
  optionHelp,
  optionSpec,
  optionSynopsis,
} from "../../hub/options.ts";
import { DEFAULTS, serve } from "../../hub/mod.ts";
import { resolveConfig } from "../../hub/config.ts";
import { HUB_USAGE, hubOptions } from "../../cli/hub/mod.ts";
import { UsageError } from "../../flags/mod.ts";

/**
 * The Markdown tables that copy rows of the option table: the file, the
 * section the table sits in, and whether it must list every option (else it
 * lists some, each as the table has it).
 */
const COPIES = [
  { file: "README.md", section: "## Hub options", every: true },
  { file: "docs/CLUSTER.md", section: "## Running three hubs", every: false },
] as const;

const FIX =
  "run `deno run --allow-read --allow-write tests/hub/options_test.ts` to rewrite it";

/** The README's cells for an option: flag, default, what. */
function row(key: HubOptionKey): string[] {
  const fallback = formatDefault(key);
  return [
    `\`${optionSynopsis(key)}\``,
    fallback === undefined
      ? "none"
      : optionSpec(key).kind === "switch"
      ? fallback
      : `\`${fallback}\``,
    optionHelp(key),
  ];
}

const HEADER = ["flag", "default", "what"];

/** The option a Markdown row is about, by its flag cell. */
function keyOf(cells: string[]): HubOptionKey | undefined {
  return HUB_OPTION_KEYS.find((key) => row(key)[0] === cells[0]);
}

/** The rows as `deno fmt` lays a Markdown table out. */
function markdownTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(rows[0]!),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.slice(1).map(line),
  ];
}

/** Where the first table of a section sits in a file's lines. */
function tableSpan(
  lines: string[],
  file: string,
  section: string,
): { start: number; end: number } {
  const at = lines.indexOf(section);
  assert(at >= 0, `${file} has no "${section}" section`);
  const start = lines.findIndex((line, i) => i > at && line.startsWith("|"));
  assert(start > at, `${file}'s "${section}" has no table`);
  let end = start;
  while (lines[end]?.startsWith("|")) end++;
  return { start, end };
}

function cells(line: string): string[] {
  return line.slice(1, -1).split("|").map((cell) => cell.trim());
}

/** The options a copy shows: every one, or those its rows name. */
function keysOf(rows: string[][], every: boolean): HubOptionKey[] {
  if (every) return [...HUB_OPTION_KEYS];
  return rows.map((cells) => {
    const key = keyOf(cells);
    assert(key !== undefined, `no option has the flag ${cells[0]}`);
    return key;
  });
}

async function readLines(file: string): Promise<string[]> {
  return (await Deno.readTextFile(new URL(`../../${file}`, import.meta.url)))
    .split("\n");
}

for (const { file, section, every } of COPIES) {
  Deno.test(`${file}'s option table shows the rows of HUB_OPTIONS`, async () => {
    const lines = await readLines(file);
    const { start, end } = tableSpan(lines, file, section);
    const header = cells(lines[start]!);
    // The separator row, whatever its width, sits between the header and the rows.
    const rows = lines.slice(start + 2, end).map(cells);
    assertEquals(header, HEADER, `${file}: ${FIX}`);
    assertEquals(rows, keysOf(rows, every).map(row), `${file}: ${FIX}`);
  });
}

Deno.test("the usage text names every option of the table, with its default", () => {
  for (const key of HUB_OPTION_KEYS) {
    const synopsis = optionSynopsis(key);
    assert(
      HUB_USAGE.includes(`  ${synopsis} `),
      `usage lacks ${synopsis}`,
    );
  }
  const unwrapped = HUB_USAGE.replace(/\n +/g, " ");
  assertStringIncludes(unwrapped, "(default 8MiB)");
  assertStringIncludes(unwrapped, "(default 10ms)");
  assertStringIncludes(unwrapped, "(or set MSGHUB_TOKEN)");
  assertStringIncludes(unwrapped, "debug, info, warn or error;");
  for (const line of HUB_USAGE.split("\n")) {
    assert(line.length <= 80, `usage line too long: ${line}`);
  }
});

Deno.test("defaults and ranges are those of the spec", () => {
  assertEquals(DEFAULTS, {
    hostname: "127.0.0.1",
    port: 1234,
    maxClients: 10_000,
    maxPending: 8 * 1024 * 1024,
    writeTimeout: 10_000,
    handshakeTimeout: 10_000,
    pingInterval: 30_000,
    drainTimeout: 5_000,
    maxStall: 10,
    clusterName: "msghub",
    clusterHeartbeat: 500,
    clusterDeadAfter: 3_000,
  });
  const ranges = Object.fromEntries(
    HUB_OPTION_KEYS.flatMap((key) => {
      const spec = optionSpec(key);
      return spec.min === undefined ? [] : [[key, [spec.min, spec.max]]];
    }),
  );
  assertEquals(ranges, {
    port: [0, 65535],
    maxClients: [1, 1_000_000],
    maxPending: [1_048_589, 2 ** 40],
    writeTimeout: [1, 3_600_000],
    handshakeTimeout: [1, 3_600_000],
    pingInterval: [1, 3_600_000],
    drainTimeout: [0, 3_600_000],
    maxStall: [0, 10_000],
    token: [1, 1024],
    wsPort: [0, 65535],
    metricsPort: [0, 65535],
    clusterHeartbeat: [10, 60_000],
    clusterDeadAfter: [20, 600_000],
    clusterStartTimeout: [1, 3_600_000],
    clusterReplicas: [1, 5],
    clusterAckTimeout: [10, 60_000],
  });
  assertEquals(HUB_OPTIONS.token.env, "MSGHUB_TOKEN");
});

Deno.test("flag text: durations, sizes, integers, choices and lists", () => {
  assertEquals(parseOption("writeTimeout", "2s"), 2000);
  assertEquals(parseOption("writeTimeout", "1.5m"), 90_000);
  assertEquals(parseOption("writeTimeout", "1h"), 3_600_000);
  assertEquals(parseOption("writeTimeout", "750"), 750);
  assertEquals(parseOption("drainTimeout", "0"), 0);
  assertEquals(parseOption("maxPending", "16MiB"), 16 * 1024 ** 2);
  assertEquals(parseOption("maxPending", "1gib"), 1024 ** 3);
  assertEquals(parseOption("maxPending", "2000000B"), 2_000_000);
  assertEquals(parseOption("maxClients", "5"), 5);
  assertEquals(parseOption("logLevel", "warn"), "warn");
  assertEquals(parseOption("cluster", "nats://a:1,nats://b:2"), [
    "nats://a:1",
    "nats://b:2",
  ]);
  assertEquals(parseOption("hostname", "0.0.0.0"), "0.0.0.0");
});

Deno.test("one wording for every bad value, on the command line and in serve()", () => {
  const flag: Array<[Parameters<typeof parseOption>, string]> = [
    [
      ["maxClients", "abc"],
      'Invalid option "--max-clients": "abc" is not an integer from 1 to 1000000',
    ],
    [
      ["maxClients", "0"],
      'Invalid option "--max-clients": "0" is not an integer from 1 to 1000000',
    ],
    [
      ["port", "-1"],
      'Invalid option "--port": "-1" is not an integer from 0 to 65535',
    ],
    [
      ["writeTimeout", "soon"],
      'Invalid option "--write-timeout": "soon" is not a duration from 1ms to 1h',
    ],
    [
      ["writeTimeout", "2h"],
      'Invalid option "--write-timeout": "2h" is not a duration from 1ms to 1h',
    ],
    [
      ["maxPending", "lots"],
      'Invalid option "--max-pending": "lots" is not a size from 1048589 to 1024GiB',
    ],
    [
      ["maxStall", "11s"],
      'Invalid option "--max-stall": "11s" is not a duration from 0ms to 10s',
    ],
    [
      ["logFormat", "xml"],
      'Invalid option "--log-format": "xml" is not text or json',
    ],
  ];
  for (const [[key, text], message] of flag) {
    const error = assertThrows(() => parseOption(key, text), ConfigError);
    assertEquals(error.message, message);
    assertEquals(error.option, key);
  }
  const field: Array<[() => unknown, string]> = [
    [
      () => checkOption("maxClients", 0),
      'Invalid option "maxClients": "0" is not an integer from 1 to 1000000',
    ],
    [
      () => checkOption("maxClients", 2.5),
      'Invalid option "maxClients": "2.5" is not an integer from 1 to 1000000',
    ],
    [
      () => resolveConfig({ writeTimeout: 0 }),
      'Invalid option "writeTimeout": "0" is not a duration from 1ms to 1h',
    ],
    [
      () => resolveConfig({ maxPending: 1024 }),
      'Invalid option "maxPending": "1024" is not a size from 1048589 to 1024GiB',
    ],
    [
      () => resolveConfig({ token: "" }),
      'Invalid option "token": it is 0 bytes, not 1 to 1024',
    ],
    [
      () => resolveConfig({ token: "é".repeat(513) }),
      'Invalid option "token": it is 1026 bytes, not 1 to 1024',
    ],
    [
      () =>
        resolveConfig({
          cluster: {
            servers: ["nats://x:1"],
            heartbeat: 2000,
            deadAfter: 3000,
          },
        }),
      'Invalid option "cluster.deadAfter": "3000" is not a duration from 4s to 10m',
    ],
    [
      () => resolveConfig({ cluster: { servers: [" ", ""] } }),
      'Invalid option "cluster.servers": " ," holds no NATS URL, e.g. nats://127.0.0.1:4222',
    ],
    [
      () => resolveConfig({ cluster: { servers: ["x"], name: "a.b" } }),
      'Invalid option "cluster.name": "a.b" is not 1 to 64 letters, digits, "_" or "-"',
    ],
  ];
  for (const [run, message] of field) {
    const error = assertThrows(run, ConfigError);
    assertEquals(error.message, message);
  }
  // The command line names a check serve() made by the flag.
  const error = assertThrows(
    () => resolveConfig({ cluster: { servers: ["x"], name: "a.b" } }),
    ConfigError,
  );
  assertEquals(
    error.messageFor("flag"),
    'Invalid option "--cluster-name": "a.b" is not 1 to 64 letters, digits, "_" or "-"',
  );
  assertEquals(error.messageFor("field"), error.message);
});

Deno.test("values at the edges of each range pass", () => {
  for (const key of HUB_OPTION_KEYS) {
    const spec = optionSpec(key);
    if (spec.min === undefined || spec.kind === "file") continue;
    for (const edge of [spec.min, spec.max!]) {
      const text = spec.kind === "duration"
        ? formatDuration(edge)
        : spec.kind === "size"
        ? formatSize(edge)
        : String(edge);
      assertEquals(parseOption(key, text), edge, `${key} ${text}`);
      assertEquals<unknown>(checkOption(key, edge), edge, `${key} ${edge}`);
    }
  }
  assertEquals(resolveConfig({ token: "x".repeat(1024) }).token?.length, 1024);
});

Deno.test("hubOptions reports a bad flag as a usage error, in the one wording", async () => {
  const error = await hubOptions(["--max-clients", "abc"]).then(
    () => null,
    (error: unknown) => error,
  );
  assertInstanceOf(error, UsageError);
  assertEquals(
    error.message,
    'Invalid option "--max-clients": "abc" is not an integer from 1 to 1000000',
  );
  const cluster = await hubOptions([
    "--cluster",
    "nats://a:1,nats://b:2",
    "--cluster-name",
    "demo",
    "--cluster-heartbeat",
    "1s",
    "--cluster-dead-after",
    "5s",
  ]);
  assertEquals(cluster.cluster, {
    servers: ["nats://a:1", "nats://b:2"],
    name: "demo",
    heartbeat: 1000,
    deadAfter: 5000,
  });
  assertEquals((await hubOptions(["--max-stall", "0"])).maxStall, 0);
  assertEquals((await hubOptions([])).cluster, undefined);
});

Deno.test("serve() checks with the same table", async () => {
  const error = await serve({ port: 0, maxStall: 10_001 }).then(
    () => null,
    (error: unknown) => error,
  );
  assertInstanceOf(error, ConfigError);
  assertEquals(
    error.message,
    'Invalid option "maxStall": "10001" is not a duration from 0ms to 10s',
  );
});

if (import.meta.main) {
  for (const { file, section, every } of COPIES) {
    const lines = await readLines(file);
    const { start, end } = tableSpan(lines, file, section);
    const keys = keysOf(lines.slice(start + 2, end).map(cells), every);
    lines.splice(
      start,
      end - start,
      ...markdownTable([HEADER, ...keys.map(row)]),
    );
    await Deno.writeTextFile(
      new URL(`../../${file}`, import.meta.url),
      lines.join("\n"),
    );
    console.log(`${file}: option table written from hub/options.ts`);
  }
}
