/**
 * `msghub client`: one-shot commands for scripts (identity, list, echo,
 * relay, listen, ping, each with `--json`), and a session, piped or
 * interactive, over TCP, TLS or WebSocket (`--url`, `MSGHUB_URL`).
 *
 * The pieces live in private files beside this one: the command line
 * (`_flags.ts`, `_usage.ts`), connecting (`_connect.ts`), the commands
 * (`_listen.ts`, `_relay.ts`, `_ping.ts`, `_json.ts`), the session
 * (`_session.ts`, `_session_commands.ts`) and its terminal side
 * (`_interactive.ts`, `_line_editor.ts`, `_keys.ts`, `_terminal.ts`), and
 * the output both share (`_io.ts`).
 *
 * @module
 */
import { formatRelayed } from "../../protocol/mod.ts";
import { UsageError } from "../../flags/mod.ts";
import { usageLine } from "../usage.ts";
import { connectTo } from "./_connect.ts";
import {
  checkIds,
  DEFAULT_PING_COUNT,
  type Invocation,
  parseInvocation,
  readEnvironment,
} from "./_flags.ts";
import { type ClientIo, describeError, Output, type Writer } from "./_io.ts";
import { echoJson, identityJson, idsJson, receiptJson } from "./_json.ts";
import { listen } from "./_listen.ts";
import { ping } from "./_ping.ts";
import { relayBody, relayWithProgress } from "./_relay.ts";
import { runSession } from "./_session.ts";
import { CLIENT_USAGE, isCommand } from "./_usage.ts";

export type { ClientIo, Writer };
export { CLIENT_USAGE };

const defaultIo: () => ClientIo = () => ({
  stdin: Deno.stdin,
  stdout: Deno.stdout,
  stderr: Deno.stderr,
});

/**
 * Runs `msghub client ARGS` and resolves to the exit code. Nothing escapes
 * as an exception: a usage error is one line and a pointer to `--help`
 * (exit 2), any other failure one `msghub: ...` line (exit 1), on stderr.
 *
 * @example A usage error is one line
 * ```ts
 * import { clientCommand } from "./mod.ts";
 * const chunks: Uint8Array[] = [];
 * const sink = { write: (p: Uint8Array) => (chunks.push(p), Promise.resolve(p.length)) };
 * const stdin = { readable: new ReadableStream<Uint8Array>(), isTerminal: () => false };
 * const code = await clientCommand(["--bogus"], { stdin, stdout: sink, stderr: sink });
 * const text = new TextDecoder().decode(chunks[0]);
 * if (code !== 2 || text !== 'msghub client: unknown option: "--bogus"; run msghub client --help\n') {
 *   throw new Error(text);
 * }
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
    invocation = await parseInvocation(args, readEnvironment());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const command = args.find((arg) => arg !== "" && isCommand(arg));
    await stderr.line(
      usageLine(
        "msghub client",
        error,
        command === undefined ? "msghub client" : `msghub client ${command}`,
      ),
    );
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

async function execute(
  invocation: Invocation,
  io: ClientIo,
  stdout: Output,
): Promise<number> {
  const { command, args, options } = invocation;
  const target = invocation.target!;
  let body: Uint8Array | null = null;
  if (command === "relay") {
    // Read the body before connecting, so the hub never waits on our stdin.
    body = await relayBody({
      text: args.slice(1),
      ...(options.file === undefined ? {} : { file: options.file }),
      stdin: io.stdin.readable,
    });
  }
  const client = await connectTo(target, invocation.connectTimeout);
  try {
    switch (command) {
      case "":
        return await runSession(client, io, target.label);
      case "identity": {
        const id = await client.identity();
        await stdout.line(options.json ? identityJson(id) : String(id));
        return 0;
      }
      case "list": {
        const ids = await client.list();
        if (options.json) await stdout.line(idsJson(ids));
        else for (const id of ids) await stdout.line(String(id));
        return 0;
      }
      case "echo": {
        const echoed = await client.echo(args.join(" "));
        if (options.json) await stdout.line(echoJson(echoed));
        else await stdout.write(echoed, "\n");
        return 0;
      }
      case "relay": {
        const ids = checkIds(args[0]!);
        const receipt = await relayWithProgress(client, ids, body!, io.stderr);
        await stdout.line(
          options.json
            ? receiptJson(receipt)
            : formatRelayed(receipt.delivered, receipt.unknown),
        );
        return receipt.delivered > 0 ? 0 : 1;
      }
      case "listen":
        return await listen(client, stdout, {
          json: options.json,
          count: options.count,
          out: options.out,
        });
      case "ping":
        return await ping(client, stdout, {
          count: options.count ?? DEFAULT_PING_COUNT,
          json: options.json,
          label: target.label,
        });
      default:
        throw new Error(`Unhandled command: "${command}"`);
    }
  } finally {
    await client.close();
  }
}
