/**
 * The `msghub client` session on a terminal: a prompt with line editing,
 * history and Tab completion of command names. Answers and messages are
 * printed above the prompt line, which is drawn again with what was being
 * typed, so nothing typed is garbled.
 *
 * @module
 */
import type { HubClient } from "./_hub_client.ts";
import { ProtocolError, TextParser } from "../../protocol/mod.ts";
import { type ClientIo, describeError, messageText, Output } from "./_io.ts";
import { KeyDecoder } from "./_keys.ts";
import { LineEditor } from "./_line_editor.ts";
import {
  type Answer,
  isConnectionEnd,
  sendCommand,
  SESSION_COMMANDS,
} from "./_session_commands.ts";
import {
  followResize,
  onSignals,
  Terminal,
  terminalColumns,
  type TerminalInput,
} from "./_terminal.ts";

/** The prompt for a command. */
export const PROMPT = "msghub> ";
const PROMPTS = {
  command: PROMPT,
  "relay-ids": "relay to> ",
  "relay-body": "relay body> ",
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The streams of an editing session: both ends are a terminal. */
export type InteractiveIo = ClientIo & { stdin: TerminalInput };

/** Whether `io` is a terminal both ways, so the session can edit lines. */
export function canEdit(io: ClientIo): io is InteractiveIo {
  return io.stdin.isTerminal() && io.stdin.setRaw !== undefined &&
    io.stdout.isTerminal?.() === true;
}

/**
 * Runs a session on a terminal until `quit`, Ctrl-D on an empty line, Ctrl-C
 * on an empty command line, SIGTERM or SIGHUP, or the hub closing the
 * connection; resolves to the exit code. The terminal is put back in its
 * mode on return, and the client is closed.
 */
export async function runInteractive(
  client: HubClient,
  io: InteractiveIo,
  label: string,
): Promise<number> {
  const id = await client.identity();
  const terminal = new Terminal(io.stdin, io.stdout);
  const editor = new LineEditor({ columns: terminalColumns() });
  const show = (text: string): void => terminal.draw(editor.print(text));
  let leaving = false;
  let endedByHub = false;
  client.closed.then(() => endedByHub ||= !leaving);

  // Answers print in request order, each once its reply is in.
  let answers: Promise<void> = Promise.resolve();
  const answer = (reply: Promise<Answer>): void => {
    const settled = reply.then(
      (parts) => ({ ok: true as const, parts }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    answers = answers.then(async () => {
      const result = await settled;
      if (result.ok) show(answerText(result.parts));
      else if (isConnectionEnd(result.error)) endedByHub ||= !leaving;
      else show(`msghub: ${describeError(result.error)}`);
    });
  };

  let quit = false;
  const newParser = () =>
    new TextParser((command) => {
      if (quit) return;
      if (command.type === "quit") quit = true;
      else answer(sendCommand(client, command));
    });
  let parser = newParser();
  const prompt = () => {
    const stage = parser.expecting;
    terminal.draw(
      editor.begin(PROMPTS[stage], stage === "command" ? SESSION_COMMANDS : []),
    );
  };

  const stop = Promise.withResolvers<null>();
  const stopSignals = onSignals(
    ["SIGTERM", "SIGHUP"],
    () => stop.resolve(null),
  );
  terminal.enterRaw();
  const stopResize = followResize(terminal, editor);
  const printing = printMessages(client, show);
  const reader = io.stdin.readable.getReader();
  const keys = new KeyDecoder();
  const hubGone = client.closed.then(() => null);
  try {
    show(
      `connected to ${label} as client ${id}; type help for commands, Tab completes, quit or Ctrl-D leaves`,
    );
    prompt();
    reading: while (!quit && terminal.failure === null) {
      const read = reader.read();
      read.catch(() => {});
      const chunk = await Promise.race([read, hubGone, stop.promise]);
      if (chunk === null || chunk.done) break;
      for (const key of keys.decode(chunk.value)) {
        const { ops, event } = editor.feed(key);
        terminal.draw(ops);
        if (event === null) continue;
        if (event.type === "eof") break reading;
        if (event.type === "interrupt") {
          // Ctrl-C drops the line, and a relay being typed; on an empty
          // command line it leaves.
          if (event.line === "" && parser.expecting === "command") {
            break reading;
          }
          parser = newParser();
        } else {
          try {
            parser.parse(encoder.encode(`${event.line}\n`));
          } catch (error) {
            // Only a line over the limit throws; the parser is spent after it.
            if (!(error instanceof ProtocolError)) throw error;
            show(`msghub: ${describeError(error)}`);
            parser = newParser();
          }
          if (quit) break reading;
        }
        prompt();
      }
    }
  } finally {
    terminal.draw(editor.close());
    await reader.cancel().catch(() => {});
    reader.releaseLock();
    await answers;
    stopResize();
    stopSignals();
    await terminal.flush();
    terminal.restore();
  }
  leaving = true;
  await client.close();
  const failure = await printing;
  await terminal.flush();
  if (terminal.failure !== null) throw terminal.failure;
  const problem = failure ??
    (endedByHub ? new Error("Connection closed by the hub") : null);
  if (problem === null) return 0;
  await new Output(io.stderr).line(`msghub: ${describeError(problem)}`);
  return 1;
}

/** Prints messages until the client closes; resolves to a fatal error, if any. */
async function printMessages(
  client: HubClient,
  show: (text: string) => void,
): Promise<unknown> {
  try {
    for await (const message of client) show(messageText(message));
    return null;
  } catch (error) {
    return error;
  }
}

function answerText(parts: Answer): string {
  return parts.map((part) =>
    typeof part === "string" ? part : decoder.decode(part)
  ).join("");
}
