/**
 * `msghub client`: one-shot commands for scripts, and an interactive session.
 *
 * @module
 */
import { connect, type ConnectOptions } from "../../client/mod.ts";
import { formatRelayed, parseIds } from "../../protocol/mod.ts";
import {
  COMMAND_FLAGS,
  type CommandOptions,
  commandOptions,
} from "./_flags.ts";
import { listen } from "./_listen.ts";
import { relayBody, relayWithProgress } from "./_relay.ts";
import { type ClientIo, describeError, Output, type Writer } from "./_io.ts";
import { idsJson } from "./_json.ts";
import { runSession } from "./_session.ts";
import { intFlag, parseFlags, stringFlag, UsageError } from "../flags.ts";

export type { ClientIo, Writer };

const OPTIONS = `Options:
  --host HOST        hub address (default 127.0.0.1)
  --port PORT        hub port (default 1234)
  --token-file PATH  authenticate with the token in PATH (or set MSGHUB_TOKEN)
  --tls              speak TLS (for a hub started with --tls-cert)
  --ca-cert PATH     with --tls, also trust the PEM CA certificate in PATH
  -h, --help         show this help`;

/** Usage of `msghub client`, and of each of its commands. */
export const CLIENT_USAGE: Readonly<Record<string, string>> = {
  "": `Usage: msghub client [options] [command]

Talks to a hub in the binary dialect. Without a command it runs a session:
commands are read from stdin one per line and answered in order, and
messages from other clients are printed as "message from ID: BODY". With a
pipe it is scriptable and exits 0 at the end of stdin once every answer is
printed. On a terminal it is interactive: a "msghub> " prompt with line
editing (arrows, Home/End, Backspace/Delete, Ctrl-A/E/U/K/W), history
(Up/Down) and Tab completion of command names; answers and messages are
printed above the line being typed. Ctrl-C drops the line (on an empty
line it leaves), Ctrl-D on an empty line leaves.

Session commands, one per line:
  identity | list | echo TEXT | relay IDS TEXT | help | quit
  "relay" alone starts a multi-line relay: a line of IDS, then body lines
  up to an empty line.

Commands:
  identity             print this client's id
  list [--json]        print the ids of the other clients, one per line
  echo TEXT...         print TEXT as the hub echoes it
  relay IDS [TEXT...]  relay TEXT, or --file PATH or stdin as raw bytes, to
                       IDS (like 2,3)
  listen [--count N] [--json] [--out DIR]
                       print "id ID", then each message relayed to this
                       client (or save each body to a file in DIR)

${OPTIONS}

Exit status: 0 on success, 1 when the hub cannot be reached or fails the
command (relay: when no receiver got the message), 2 on a usage error.
"msghub client help COMMAND" describes one command.`,
  identity: `Usage: msghub client [options] identity

Prints the user id the hub gave this connection.

${OPTIONS}`,
  list: `Usage: msghub client [options] list [--json]

Prints the ids of the other registered clients, ascending, one per line
(nothing when this client is alone). With --json it prints one line, a JSON
array of the ids as strings (a u64 does not fit a JSON number): ["2","3"],
or [] when this client is alone.

${OPTIONS}
  --json             print one JSON array`,
  echo: `Usage: msghub client [options] echo TEXT...

Sends TEXT (the arguments joined by spaces) to the hub and prints what it
sends back. Put -- before text that starts with a dash.

${OPTIONS}`,
  relay: `Usage: msghub client [options] relay IDS [TEXT...]
       msghub client [options] relay IDS --file PATH

Relays TEXT (the arguments joined by spaces) to the clients IDS, 1 to 255
comma-separated ids such as 2,3. Without TEXT the body is the file PATH, or
all of stdin, as raw bytes (at most 1 MiB). While a body of 256 KiB or more
is sent, a terminal on stderr shows the bytes sent so far. Prints the hub's
receipt, "relayed N" or "relayed N unknown 3,4". Exits 0 when at least one
receiver got the message, 1 when none did.

${OPTIONS}
  --file PATH        send the bytes of PATH`,
  listen:
    `Usage: msghub client [options] listen [--count N] [--json] [--out DIR]

Prints "id ID" (this client's id), then every message relayed to it as
"message from SENDER: " followed by the raw body and a line end. Runs until
the hub closes the connection (exit 1), or exits 0 after N messages.

With --json every line is one JSON object: first {"id":"5"}, then one per
message, {"sender":"3","body":"hello","encoding":"utf8"}. Ids are strings
(a u64 does not fit a JSON number); a body that is not valid UTF-8 is given
in base64, with "encoding":"base64".

With --out DIR each body is saved, byte for byte, to a file of its own in
DIR (created if missing), named in arrival order with the sender, such as
000001-from-3.bin; numbers go on after the files already there, and no file
is overwritten. One line per file is printed, "message from 3: 5 bytes in
DIR/000001-from-3.bin", or with --json
{"sender":"3","file":"DIR/000001-from-3.bin","bytes":5}.

${OPTIONS}
  --count N          exit 0 after N messages
  --json             print JSON lines
  --out DIR          save each body to a file in DIR`,
};

interface Invocation {
  command: string;
  args: string[];
  help: boolean;
  connect: ConnectOptions;
  count: number | undefined;
  options: CommandOptions;
}

const defaultIo: () => ClientIo = () => ({
  stdin: Deno.stdin,
  stdout: Deno.stdout,
  stderr: Deno.stderr,
});

/**
 * Runs `msghub client ARGS` and resolves to the exit code. Nothing escapes
 * as an exception: failures become one `msghub: ...` line on stderr.
 *
 * @example Print usage
 * ```ts ignore
 * import { clientCommand } from "./mod.ts";
 * Deno.exit(await clientCommand(["--help"]));
 * ```
 */
export async function clientCommand(
  args: string[],
  io: ClientIo = defaultIo(),
): Promise<number> {
  const stdout = new Output(io.stdout);
  const stderr = new Output(io.stderr);
  let invocation: Invocation;
  try {
    invocation = await parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const usage = CLIENT_USAGE[commandOf(args)] ?? CLIENT_USAGE[""];
    await stderr.line(`msghub client: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (invocation.help) {
    await stdout.line(CLIENT_USAGE[invocation.command]!);
    return 0;
  }
  try {
    return await execute(invocation, io, stdout);
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    await stderr.line(`msghub: ${describeError(error)}`).catch(() => {});
    return 1;
  }
}

async function parse(args: string[]): Promise<Invocation> {
  const flags = parseFlags(args, {
    string: [
      "host",
      "port",
      "count",
      "token-file",
      "ca-cert",
      ...COMMAND_FLAGS.string,
    ],
    boolean: ["help", "tls", ...COMMAND_FLAGS.boolean],
    alias: { h: "help" },
  });
  const [word = "", ...rest] = flags._.map(String);
  if (word === "help") {
    // `msghub client help [COMMAND]` is `msghub client [COMMAND] --help`.
    const topic = rest[0] ?? "";
    if (!isCommand(topic)) {
      throw new UsageError(`Unknown command: "${topic}"`);
    }
    return {
      command: topic,
      args: [],
      help: true,
      connect: {},
      count: undefined,
      options: { json: false },
    };
  }
  const command = word;
  if (!isCommand(command)) {
    throw new UsageError(`Unknown command: "${command}"`);
  }
  const help = flags.help === true;
  const count = intFlag(flags, "count", 1, 2 ** 31);
  const options = commandOptions(command, flags, rest);
  if (help) return { command, args: rest, help, connect: {}, count, options };
  if (count !== undefined && command !== "listen") {
    throw new UsageError("Option --count applies to listen only");
  }
  const hostname = stringFlag(flags, "host") ?? "127.0.0.1";
  if (hostname === "") throw new UsageError("Option --host needs a value");
  const port = intFlag(flags, "port", 1, 65535) ?? 1234;
  if (
    (command === "" || command === "identity" || command === "list" ||
      command === "listen") && rest.length > 0
  ) {
    throw new UsageError(`Unexpected argument: "${rest[0]}"`);
  }
  if (command === "relay") {
    if (rest.length === 0) throw new UsageError("Missing IDS");
    checkIds(rest[0]!);
  }
  const token = await readToken(stringFlag(flags, "token-file"));
  const connect: ConnectOptions = { hostname, port };
  if (token !== undefined) connect.token = token;
  if (flags.tls === true) connect.tls = true;
  const caCert = stringFlag(flags, "ca-cert");
  if (caCert !== undefined) {
    if (flags.tls !== true) {
      throw new UsageError("Option --ca-cert needs --tls");
    }
    connect.caCerts = [await readCaCert(caCert)];
  }
  return { command, args: rest, help, connect, count, options };
}

/** The command word of a command line that failed to parse, for its usage. */
function commandOf(args: string[]): string {
  return args.find((arg) => arg !== "" && isCommand(arg)) ?? "";
}

function isCommand(word: string): boolean {
  return Object.hasOwn(CLIENT_USAGE, word);
}

function checkIds(field: string): bigint[] {
  const ids = parseIds(new TextEncoder().encode(field));
  if (typeof ids === "string") throw new UsageError(capitalise(ids));
  return ids;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function readCaCert(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read --ca-cert "${path}": ${describeError(error)}`,
    );
  }
}

async function readToken(
  path: string | undefined,
): Promise<string | undefined> {
  let token: string | undefined;
  if (path !== undefined) {
    try {
      token = (await Deno.readTextFile(path)).trim();
    } catch (error) {
      throw new UsageError(
        `Cannot read --token-file "${path}": ${describeError(error)}`,
      );
    }
  } else {
    // Without --allow-env the variable is simply not looked at (no prompt).
    const env = Deno.permissions.querySync({
      name: "env",
      variable: "MSGHUB_TOKEN",
    });
    if (env.state === "granted") token = Deno.env.get("MSGHUB_TOKEN");
  }
  return token === "" ? undefined : token;
}

async function execute(
  invocation: Invocation,
  io: ClientIo,
  stdout: Output,
): Promise<number> {
  const { command, args, options } = invocation;
  let body: Uint8Array | null = null;
  if (command === "relay") {
    // Read the body before connecting, so the hub never waits on our stdin.
    body = await relayBody({
      text: args.slice(1),
      ...(options.file === undefined ? {} : { file: options.file }),
      stdin: io.stdin.readable,
    });
  }
  const client = await connect(invocation.connect);
  try {
    switch (command) {
      case "":
        return await runSession(client, io, label(invocation.connect));
      case "identity":
        await stdout.line(String(await client.identity()));
        return 0;
      case "list": {
        const ids = await client.list();
        if (options.json) await stdout.line(idsJson(ids));
        else for (const id of ids) await stdout.line(String(id));
        return 0;
      }
      case "echo":
        await stdout.write(await client.echo(args.join(" ")), "\n");
        return 0;
      case "relay": {
        const ids = checkIds(args[0]!);
        const receipt = await relayWithProgress(client, ids, body!, io.stderr);
        await stdout.line(formatRelayed(receipt.delivered, receipt.unknown));
        return receipt.delivered > 0 ? 0 : 1;
      }
      case "listen":
        return await listen(client, stdout, {
          json: options.json,
          count: invocation.count,
          out: options.out,
        });
      default:
        throw new Error(`Unhandled command: "${command}"`);
    }
  } finally {
    await client.close();
  }
}

function label(options: ConnectOptions): string {
  return `${options.hostname}:${options.port}`;
}
