/**
 * The house rules of docs/ARCHITECTURE.md, checked on the source itself:
 * which folder may import which, no import cycles, and no source file too
 * long to read in one sitting.
 *
 * @module
 */
import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);
/** The longest a source file may be, in lines. */
const MAX_LINES = 500;

/** For each layer, the folders its files may import from (itself included). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  protocol: ["protocol"],
  flags: ["flags"],
  hub: ["hub", "protocol"],
  client: ["client", "protocol"],
  bench: ["bench", "client", "protocol"],
  cli: ["cli", "bench", "client", "flags", "hub", "protocol"],
  tools: ["tools", "bench", "client", "flags", "hub", "protocol"],
  "main.ts": ["cli"],
};

async function sourceFiles(dir: URL, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) {
      if (
        [".git", ".coverage", "dist", "node_modules", "tests", "docs"].includes(
          entry.name,
        )
      ) continue;
      out.push(
        ...await sourceFiles(new URL(`${entry.name}/`, dir), `${path}/`),
      );
    } else if (/\.(ts|js)$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out.sort();
}

/** The static imports and re-exports of `text` that name a relative path. */
function relativeImports(text: string): string[] {
  // Comments hold examples with imports of their own; they do not count.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /^\s*\/\/.*$/gm,
    "",
  );
  const found: string[] = [];
  const pattern =
    /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of code.matchAll(pattern)) {
    found.push((match[1] ?? match[2])!);
  }
  return found;
}

function resolve(from: string, specifier: string): string {
  const url = new URL(specifier, new URL(from, "file:///root/"));
  return url.pathname.slice("/root/".length);
}

function layerOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

const files = await sourceFiles(ROOT);
const graph = new Map<string, string[]>();
for (const file of files) {
  const text = await Deno.readTextFile(new URL(file, ROOT));
  graph.set(file, relativeImports(text).map((spec) => resolve(file, spec)));
}

Deno.test("architecture: each layer imports only the layers below it", () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const allowed = MAY_IMPORT[layerOf(file)];
    if (allowed === undefined) continue;
    for (const target of imports) {
      const layer = layerOf(target);
      if (layer === "deno.json") continue;
      if (!allowed.includes(layer)) wrong.push(`${file} -> ${target}`);
    }
  }
  assertEquals(wrong, []);
});

Deno.test("architecture: no import cycles", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      const seen = state.get(next);
      if (seen === "open") {
        cycles.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      } else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  assertEquals(cycles, []);
});

Deno.test(`architecture: no source file is over ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  for (const file of files) {
    const lines =
      (await Deno.readTextFile(new URL(file, ROOT))).split("\n").length - 1;
    if (lines > MAX_LINES) long.push(`${file}: ${lines} lines`);
  }
  assertEquals(long, []);
});

Deno.test("architecture: the rules see the whole tree", () => {
  // A rule that matched nothing would pass without checking anything.
  for (
    const layer of [
      "protocol",
      "hub",
      "client",
      "bench",
      "cli",
      "tools",
      "flags",
    ]
  ) {
    const count = files.filter((file) => layerOf(file) === layer).length;
    if (count === 0) throw new Error(`No source files found in "${layer}/"`);
  }
  const edges = [...graph.values()].reduce(
    (sum, targets) => sum + targets.length,
    0,
  );
  if (edges < 100) {
    throw new Error(`Only ${edges} imports found: the pattern is broken`);
  }
});
