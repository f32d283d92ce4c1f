/**
 * The commands of a `msghub client` session, sent over the binary dialect
 * and answered in the text dialect's words. Shared by the piped session and
 * the terminal one.
 *
 * @module
 */
import { ConnectionClosedError, HubError } from "../../client/mod.ts";
import type { HubClient } from "./_hub_client.ts";
import {
  formatList,
  formatRelayed,
  type TextCommand,
} from "../../protocol/mod.ts";

export type { TextCommand };

/** The answer to `help` in a session. */
export const SESSION_HELP =
  "commands: identity | list | echo TEXT | relay IDS TEXT | relay, then IDS and body lines ended by an empty line | help | quit";

/** The command words, for completion. */
export const SESSION_COMMANDS: readonly string[] = [
  "echo",
  "help",
  "identity",
  "list",
  "quit",
  "relay",
];

/** The parts of one answer line, without its line end. */
export type Answer = Array<Uint8Array | string>;

/** A command line that is answered without asking the hub. */
export class CommandError extends Error {
  /** Makes the error; `message` is printed after `msghub: `. */
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** Sends one command and resolves to its answer. */
export function sendCommand(
  client: HubClient,
  command: TextCommand,
): Promise<Answer> {
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

/** The connection ended: reported once, when the session ends. */
export function isConnectionEnd(error: unknown): boolean {
  return error instanceof ConnectionClosedError || error instanceof HubError;
}
