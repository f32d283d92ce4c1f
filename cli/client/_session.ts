/**
 * The `msghub client` session: commands in the text dialect's words are read
 * from stdin, sent over the binary dialect, and answered in order; relayed
 * messages are printed as they arrive. On a terminal it hands over to the
 * line-editing session of `_interactive.ts`; piped, it stays plain.
 *
 * @module
 */
import type { HubClient } from "./_hub_client.ts";
import { ProtocolError, TextParser } from "../../protocol/mod.ts";
import { type ClientIo, describeError, messageText, Output } from "./_io.ts";
import {
  type Answer,
  isConnectionEnd,
  sendCommand,
} from "./_session_commands.ts";
import { canEdit, runInteractive } from "./_interactive.ts";

export { SESSION_HELP } from "./_session_commands.ts";

const PROMPT = "> ";
/** Clears the terminal line, so a message does not land after the prompt. */
const CLEAR_LINE = "\r\x1b[K";

/**
 * Runs a session on a connected client until `quit`, the end of stdin, or
 * the hub closing the connection; resolves to the exit code. The client is
 * closed on return.
 */
export async function runSession(
  client: HubClient,
  io: ClientIo,
  label: string,
): Promise<number> {
  if (canEdit(io)) return await runInteractive(client, io, label);
  const stdout = new Output(io.stdout);
  const stderr = new Output(io.stderr);
  // A terminal on stdin only (stdout redirected) gets prompts, no editing.
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
    else answer(sendCommand(client, command));
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

/** Prints messages until the client closes; resolves to a fatal error, if any. */
async function printMessages(
  client: HubClient,
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
