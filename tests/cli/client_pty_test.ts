/**
 * `msghub client` on a pseudo-terminal: the interactive session with its
 * prompt, completion, history, and messages printed above the line being
 * typed. The pty comes from `script` (util-linux) or python3's `pty`
 * module; without either the test is ignored, saying why.
 */
import { connect } from "../../client/mod.ts";
import { serve } from "../../hub/mod.ts";
import { deadline } from "../_helpers.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { WsRecorder } from "../_ws_recorder.ts";
import { VirtualTerminal } from "./_vt.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const PYTHON_PTY =
  "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";

/** How to run a shell command line on a new pty, its output on stdout. */
type PtyRunner = (shell: string) => string[];

function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

async function succeeds(argv: string[]): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

/** A way to get a pty here, or why there is none. */
async function findPty(): Promise<PtyRunner | string> {
  const viaScript: PtyRunner = (shell) => [
    "script",
    "-qfec",
    shell,
    "/dev/null",
  ];
  // The probe checks that stdin really is a terminal inside.
  if (await succeeds(viaScript("test -t 0 && test -t 1"))) return viaScript;
  const viaPython: PtyRunner = (shell) => [
    "python3",
    "-c",
    PYTHON_PTY,
    "sh",
    "-c",
    shell,
  ];
  if (await succeeds(viaPython("test -t 0 && test -t 1"))) return viaPython;
  return "no pseudo-terminal: neither script (util-linux) nor python3's pty module works here";
}

/** A command running on a pty; what it draws lands on a virtual terminal. */
class PtySession implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly screen = new VirtualTerminal();
  raw = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #changed = Promise.withResolvers<void>();
  #ended = false;
  readonly pumped: Promise<void>;

  constructor(argv: string[]) {
    this.child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.pumped = this.#pump();
  }

  async #pump(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      this.raw += text;
      this.screen.write(text);
      this.#changed.resolve();
      this.#changed = Promise.withResolvers<void>();
    }
    this.#ended = true;
    this.#changed.resolve();
  }

  /** Types `keys` as a person would, escape sequences and all. */
  async type(keys: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(keys));
  }

  /** Resolves once `check` holds for the screen, after each output. */
  until(
    check: (screen: VirtualTerminal) => boolean,
    what: string,
  ): Promise<void> {
    return deadline(
      (async () => {
        while (!check(this.screen)) {
          if (this.#ended) throw new Error(`Output ended before ${what}`);
          await this.#changed.promise;
        }
      })(),
      20_000,
      `${what}; screen:\n${this.screen.lines.join("\n")}`,
    );
  }

  /** Waits for the exit; resolves to the code. */
  async exit(): Promise<number> {
    await deadline(this.pumped, 20_000, "the pty output to end");
    await this.#stdin.close().catch(() => {});
    await this.child.stderr.cancel();
    return (await deadline(this.child.status, 20_000, "the exit")).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill();
    } catch {
      // Already exited.
    }
    await this.child.status;
    await this.#stdin.close().catch(() => {});
    await this.child.stderr.cancel().catch(() => {});
    await this.pumped.catch(() => {});
  }
}

const pty = await findPty();
if (typeof pty === "string") {
  console.log(`tests/cli/client_pty_test ignored: ${pty}`);
}

Deno.test({
  name:
    "an interactive session on a terminal edits lines and prints above the prompt",
  ignore: typeof pty === "string",
  async fn() {
    if (typeof pty === "string") return;
    await using hub = await serve({ port: 0 });
    await using sender = await connect({ port: hub.addr.port });
    const from = await sender.identity();
    const client = [
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "client",
      "--port",
      `${hub.addr.port}`,
    ]
      .map(quote).join(" ");
    // stty after the client shows whether it left the terminal as it found it.
    await using session = new PtySession(
      pty(`${client}; code=$?; stty -a; exit $code`),
    );
    const prompt = (line: string) => (screen: VirtualTerminal) =>
      screen.currentLine === `msghub> ${line}`;

    await session.until(prompt(""), "the prompt");
    const banner = session.screen.lines.find((line) =>
      line.startsWith("connected")
    );
    const match = /^connected to 127\.0\.0\.1:\d+ as client (\d+);/.exec(
      banner ?? "",
    );
    assert(match !== null, `banner: ${banner}`);
    const id = match[1]!;

    await session.type("ide\t");
    await session.until(prompt("identity "), "Tab to complete identity");
    await session.type("\r");
    await session.until(
      (screen) => screen.lines.includes(`identity ${id}`) && prompt("")(screen),
      "the answer to identity",
    );

    // A message arrives while a line is half typed.
    await session.type("echo hal");
    await session.until(prompt("echo hal"), "the half-typed line");
    await sender.relay([BigInt(id)], "hello from afar");
    const message = `message from ${from}: hello from afar`;
    await session.until(
      (screen) => screen.lines.includes(message),
      "the message",
    );
    await session.until(prompt("echo hal"), "the line drawn again");
    const lines = session.screen.lines;
    const row = session.screen.cursor.row;
    assertEquals(lines.slice(row - 3, row + 1), [
      "msghub> identity ",
      `identity ${id}`,
      message,
      "msghub> echo hal",
    ]);
    assertEquals(session.screen.cursor.column, "msghub> echo hal".length);

    // Editing goes on where it was; then history brings lines back.
    await session.type("\x7fllo\r");
    await session.until(
      (screen) => screen.lines.includes("echo hallo") && prompt("")(screen),
      "the echo",
    );
    await session.type("\x1b[A");
    await session.until(prompt("echo hallo"), "Up to recall the echo");
    await session.type("\x1b[A");
    await session.until(prompt("identity "), "Up to recall identity");

    // A multi-line relay prompts for its ids and body; Ctrl-C drops one.
    await session.type("\x15relay\r");
    await session.until((screen) => screen.currentLine === "relay to> ", "ids");
    await session.type(`${from}\r`);
    await session.until((s) => s.currentLine === "relay body> ", "the body");
    await session.type("two\rlines\r\r");
    await session.until(
      (screen) => screen.lines.includes("relayed 1") && prompt("")(screen),
      "the relay",
    );
    const relayed = await deadline(sender.messages().next(), 20_000, "relay");
    assertEquals(new TextDecoder().decode(relayed.value?.body), "two\nlines");
    await session.type("relay\r\x03");
    await session.until(
      (screen) => screen.lines.includes("relay to> ^C") && prompt("")(screen),
      "Ctrl-C to drop the relay",
    );

    // Ctrl-D on an empty line leaves.
    await session.type("\x04");
    assertEquals(await session.exit(), 0);
    assertMatch(session.raw, /(^|\s)icanon(\s|$)/m);
    assertMatch(session.raw, /(^|\s)echo(\s|$)/m);
    assert(!/-icanon/.test(session.raw), "the terminal is still raw");
  },
});

Deno.test({
  name: "relay --file shows progress on a terminal for a large body",
  ignore: typeof pty === "string",
  async fn() {
    if (typeof pty === "string") return;
    await using hub = await serve({ port: 0 });
    await using receiver = await connect({ port: hub.addr.port });
    const to = await receiver.identity();
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeFile(file, new Uint8Array(600_000).fill(7));
      const args = ["run", "-A", MAIN, "client", "--port", `${hub.addr.port}`];
      const relay = [
        Deno.execPath(),
        ...args,
        "relay",
        `${to}`,
        "--file",
        file,
      ];
      await using session = new PtySession(pty(relay.map(quote).join(" ")));
      assertEquals(await session.exit(), 0);
      assertMatch(session.raw, /\rsent 600,000 \/ 600,000 bytes \(100%\)/);
      assertEquals(session.screen.lines.filter((line) => line !== ""), [
        "sent 600,000 / 600,000 bytes (100%)",
        "relayed 1",
      ]);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "an interactive session works with --url ws://",
  ignore: typeof pty === "string",
  async fn() {
    if (typeof pty === "string") return;
    await using hub = await serve({ port: 0, wsPort: 0 });
    await using peer = new WsRecorder(hub.wsAddr!.port);
    await using sender = await connect({ port: hub.addr.port });
    const from = await sender.identity();
    const url = peer.url("/chat");
    const client = [Deno.execPath(), "run", "-A", MAIN, "client", "--url", url];
    await using session = new PtySession(pty(client.map(quote).join(" ")));
    const prompt = (line: string) => (screen: VirtualTerminal) =>
      screen.currentLine === `msghub> ${line}`;
    await session.until(prompt(""), "the prompt");
    const banner = session.screen.lines.find((line) =>
      line.startsWith("connected")
    ) ?? "";
    const match = /^connected to (\S+) as client (\d+);/.exec(banner);
    assert(match !== null, `banner: ${banner}`);
    assertEquals(match[1], url);
    const id = match[2]!;
    await session.type("identity\r");
    await session.until(
      (screen) => screen.lines.includes(`identity ${id}`) && prompt("")(screen),
      "the answer to identity",
    );
    await sender.relay([BigInt(id)], "over the bridge");
    await session.until(
      (screen) =>
        screen.lines.includes(`message from ${from}: over the bridge`),
      "the message",
    );
    await session.type(`relay ${from} back\r`);
    await session.until(
      (screen) => screen.lines.includes("relayed 1") && prompt("")(screen),
      "the relay",
    );
    const back = await deadline(sender.messages().next(), 20_000, "relay");
    assertEquals(new TextDecoder().decode(back.value?.body), "back");
    await session.type("\x04");
    assertEquals(await session.exit(), 0);
  },
});
