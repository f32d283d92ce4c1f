/**
 * The interactive `msghub client` session: commands in the text dialect's
 * words are read from stdin, sent over the binary dialect, and answered in
 * order; relayed messages are printed as they arrive.
 *
 * @module
 */
import { type Client, ConnectionClosedError, HubError } from "../client/mod.ts";
import {
  formatList,
  formatRelayed,
  ProtocolError,
  type TextCommand,
  TextParser,
} from "../protocol/mod.ts";
import {
  type ClientIo,
  describeError,
  messageText,
  Output,
} from "./_client_io.ts";

/** The answer to `help` in a session. */
export const SESSION_HELP =
  "commands: identity | list | echo TEXT | relay IDS TEXT | relay, then IDS and body lines ended by an empty line | help | quit";

const PROMPT = "> ";
/** Clears the terminal line, so a message does not land after the prompt. */
const CLEAR_LINE = "\r\x1b[K";

/** The parts of one answer line, without its line end. */
type Answer = Array<Uint8Array | string>;

/** A command line that is answered without asking the hub. */
class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/**
 * Runs a session on a connected client until `quit`, the end of stdin, or
 * the hub closing the connection; resolves to the exit code. The client is
 * closed on return.
 */
export async function runSession(
  client: Client,
  io: ClientIo,
  label: string,
): Promise<number> {
  const stdout = new Output(io.stdout);
  const stderr = new Output(io.stderr);
  const terminal = io.stdin.isTerminal();
  let leaving = false;
  let endedByHub = false;
  client.closed.then(() => endedByHub ||= !leaving);

  // Answers print in request order, each once its reply is in. A write that
  // fails (stdout closed) ends the session.
  let outputError: unknown = null;
  let answers: Promise<void> = Promise.resolve();
  const enqueue = (print: () => Promise<void>): void => {
    answers = answers.then(print).catch((error) => {
      outputError ??= error;
    });
  };
  const answer = (reply: Promise<Answer>): void => {
    const settled = reply.then(
      (parts) => ({ ok: true as const, parts }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    enqueue(async () => {
      const result = await settled;
      if (result.ok) return stdout.write(...result.parts, "\n");
      if (isConnectionEnd(result.error)) {
        // Reported once, when the session ends.
        endedByHub ||= !leaving;
        return;
      }
      await stderr.line(`msghub: ${describeError(result.error)}`);
    });
  };

  let quit = false;
  const parser = new TextParser((command) => {
    if (quit) return;
    if (command.type === "quit") quit = true;
    else answer(send(client, command));
  });

  const printing = printMessages(client, stdout, terminal);
  if (terminal) {
    const id = await client.identity();
    await stdout.line(
      `connected to ${label} as client ${id}; type help for commands, quit or Ctrl-D to leave`,
    );
    await stdout.write(PROMPT);
  }
  const reader = io.stdin.readable.getReader();
  const hubGone = client.closed.then(() => null);
  let fatal: ProtocolError | null = null;
  try {
    while (!quit && outputError === null) {
      const read = reader.read();
      read.catch(() => {});
      const chunk = await Promise.race([read, hubGone]);
      if (chunk === null || chunk.done) break;
      try {
        parser.parse(chunk.value);
      } catch (error) {
        // Only a line over the limit throws; the parser is spent after it.
        if (!(error instanceof ProtocolError)) throw error;
        fatal = error;
        break;
      }
      if (terminal && !quit) enqueue(() => stdout.write(PROMPT));
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  await answers;
  leaving = true;
  await client.close();
  const failure = await printing;
  if (outputError !== null) throw outputError;
  const problem = fatal ?? failure ??
    (endedByHub ? new Error("Connection closed by the hub") : null);
  if (problem === null) return 0;
  await stderr.line(`msghub: ${describeError(problem)}`);
  return 1;
}

/** Sends one command and resolves to its answer. */
function send(client: Client, command: TextCommand): Promise<Answer> {
  switch (command.type) {
    case "identity":
      return client.identity().then((id) => [`identity ${id}`]);
    case "list":
      return client.list().then((ids) => [formatList(ids)]);
    case "echo":
      return client.echo(command.body).then((body) =>
        body.length === 0 ? ["echo"] : ["echo ", body]
      );
    case "relay":
      return client.relayWithReceipt(command.ids, command.body).then((r) => [
        formatRelayed(r.delivered, r.unknown),
      ]);
    case "help":
      return Promise.resolve([SESSION_HELP]);
    case "auth":
      return Promise.reject(
        new CommandError(
          "Cannot authenticate in a session: pass --token-file or set MSGHUB_TOKEN",
        ),
      );
    case "quit":
      return Promise.resolve([]);
    case "error":
      return Promise.reject(new CommandError(command.message));
  }
}

/** Prints messages until the client closes; resolves to a fatal error, if any. */
async function printMessages(
  client: Client,
  stdout: Output,
  terminal: boolean,
): Promise<unknown> {
  try {
    for await (const message of client) {
      const line = messageText(message);
      await (terminal
        ? stdout.write(`${CLEAR_LINE}${line}\n${PROMPT}`)
        : stdout.line(line));
    }
    return null;
  } catch (error) {
    return error;
  }
}

function isConnectionEnd(error: unknown): boolean {
  return error instanceof ConnectionClosedError || error instanceof HubError;
}
