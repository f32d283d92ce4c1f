/**
 * `msghub client`: one-shot commands for scripts, and an interactive session.
 *
 * @module
 */
import { toBytes } from "@std/streams/to-bytes";
import { type Client, connect, type ConnectOptions } from "../client/mod.ts";
import { formatRelayed, MAX_BODY, parseIds } from "../protocol/mod.ts";
import {
  type ClientIo,
  describeError,
  Output,
  type Writer,
} from "./_client_io.ts";
import { runSession } from "./client_session.ts";
import { intFlag, parseFlags, stringFlag, UsageError } from "./flags.ts";

export type { ClientIo, Writer };

const OPTIONS = `Options:
  --host HOST        hub address (default 127.0.0.1)
  --port PORT        hub port (default 1234)
  --token-file PATH  authenticate with the token in PATH (or set MSGHUB_TOKEN)
  -h, --help         show this help`;

/** Usage of `msghub client`, and of each of its commands. */
export const CLIENT_USAGE: Readonly<Record<string, string>> = {
  "": `Usage: msghub client [options] [command]

Talks to a hub in the binary dialect. Without a command it runs a session:
commands are read from stdin one per line and answered in order, and
messages from other clients are printed as "message from ID: BODY". With a
terminal it prompts; with a pipe it is scriptable and exits 0 at the end of
stdin once every answer is printed.

Session commands, one per line:
  identity | list | echo TEXT | relay IDS TEXT | help | quit
  "relay" alone starts a multi-line relay: a line of IDS, then body lines
  up to an empty line.

Commands:
  identity             print this client's id
  list                 print the ids of the other clients, one per line
  echo TEXT...         print TEXT as the hub echoes it
  relay IDS [TEXT...]  relay TEXT, or stdin as raw bytes, to IDS (like 2,3)
  listen [--count N]   print "id ID", then each message relayed to this client

${OPTIONS}

Exit status: 0 on success, 1 when the hub cannot be reached or fails the
command (relay: when no receiver got the message), 2 on a usage error.
"msghub client help COMMAND" describes one command.`,
  identity: `Usage: msghub client [options] identity

Prints the user id the hub gave this connection.

${OPTIONS}`,
  list: `Usage: msghub client [options] list

Prints the ids of the other registered clients, ascending, one per line
(nothing when this client is alone).

${OPTIONS}`,
  echo: `Usage: msghub client [options] echo TEXT...

Sends TEXT (the arguments joined by spaces) to the hub and prints what it
sends back. Put -- before text that starts with a dash.

${OPTIONS}`,
  relay: `Usage: msghub client [options] relay IDS [TEXT...]

Relays TEXT (the arguments joined by spaces) to the clients IDS, 1 to 255
comma-separated ids such as 2,3. Without TEXT the body is all of stdin, as
raw bytes (at most 1 MiB). Prints the hub's receipt, "relayed N" or
"relayed N unknown 3,4". Exits 0 when at least one receiver got the message,
1 when none did.

${OPTIONS}`,
  listen: `Usage: msghub client [options] listen [--count N]

Prints "id ID" (this client's id), then every message relayed to it as
"message from SENDER: " followed by the raw body and a line end. Runs until
the hub closes the connection (exit 1), or exits 0 after N messages.

${OPTIONS}
  --count N          exit 0 after N messages`,
};

interface Invocation {
  command: string;
  args: string[];
  help: boolean;
  connect: ConnectOptions;
  count: number | undefined;
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
 * import { clientCommand } from "./client_command.ts";
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
    string: ["host", "port", "count", "token-file"],
    boolean: ["help"],
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
    };
  }
  const command = word;
  if (!isCommand(command)) {
    throw new UsageError(`Unknown command: "${command}"`);
  }
  const help = flags.help === true;
  const count = intFlag(flags, "count", 1, 2 ** 31);
  if (help) return { command, args: rest, help, connect: {}, count };
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
  return {
    command,
    args: rest,
    help,
    connect: token === undefined
      ? { hostname, port }
      : { hostname, port, token },
    count,
  };
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
  const { command, args } = invocation;
  let body: Uint8Array | null = null;
  if (command === "relay") {
    // Read the body before connecting, so the hub never waits on our stdin.
    body = args.length > 1
      ? new TextEncoder().encode(args.slice(1).join(" "))
      : await readStdin(io);
    if (body.length > MAX_BODY) {
      throw new RangeError(
        `Cannot relay: body of ${body.length} bytes exceeds ${MAX_BODY}`,
      );
    }
  }
  const client = await connect(invocation.connect);
  try {
    switch (command) {
      case "":
        return await runSession(client, io, label(invocation.connect));
      case "identity":
        await stdout.line(String(await client.identity()));
        return 0;
      case "list":
        for (const id of await client.list()) await stdout.line(String(id));
        return 0;
      case "echo":
        await stdout.write(await client.echo(args.join(" ")), "\n");
        return 0;
      case "relay": {
        const ids = checkIds(args[0]!);
        const receipt = await client.relayWithReceipt(ids, body!);
        await stdout.line(formatRelayed(receipt.delivered, receipt.unknown));
        return receipt.delivered > 0 ? 0 : 1;
      }
      case "listen":
        return await listen(client, stdout, invocation.count);
      default:
        throw new Error(`Unhandled command: "${command}"`);
    }
  } finally {
    await client.close();
  }
}

async function listen(
  client: Client,
  stdout: Output,
  count: number | undefined,
): Promise<number> {
  await stdout.line(`id ${await client.identity()}`);
  let seen = 0;
  for await (const message of client) {
    await stdout.write(`message from ${message.sender}: `, message.body, "\n");
    if (++seen === count) return 0;
  }
  throw new Error("Connection closed by the hub");
}

async function readStdin(io: ClientIo): Promise<Uint8Array> {
  const bytes: Uint8Array = await toBytes(io.stdin.readable);
  return bytes;
}

function label(options: ConnectOptions): string {
  return `${options.hostname}:${options.port}`;
}
