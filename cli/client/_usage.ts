/**
 * The help texts of `msghub client` and of each of its commands: one home
 * for them, read by `--help`, `help COMMAND` and the list of command words.
 *
 * @module
 */

const OPTIONS = `Options:
  --url URL          the hub: msghub://HOST:PORT (TCP), msghubs://HOST:PORT
                     (TLS), ws://HOST:PORT/PATH or wss://… (WebSocket);
                     default $MSGHUB_URL, else msghub://127.0.0.1:1234
  --host HOST        hub address, instead of a URL (default 127.0.0.1)
  -p, --port PORT    hub port, instead of a URL (default 1234)
  --tls              with --host/--port: speak TLS (for a hub started with
                     --tls-cert)
  --ca-cert PATH     with TLS over TCP (msghubs: or --tls), also trust the
                     PEM CA certificate in PATH
  --token-file PATH  authenticate with the token in PATH (or set MSGHUB_TOKEN)
  --connect-timeout TIME
                     give up when the hub has not answered within TIME
                     (default 5s; 0 waits as long as the network does)
  -h, --help         show this help`;

const JSON_OPTION = `  --json             print one JSON object`;

/**
 * Usage of `msghub client` (key `""`), and of each of its commands (keyed
 * by the command word).
 *
 * @example
 * ```ts
 * import { CLIENT_USAGE } from "./_usage.ts";
 * if (!CLIENT_USAGE.ping!.startsWith("Usage: msghub client")) throw new Error("No usage");
 * ```
 */
export const CLIENT_USAGE: Readonly<Record<string, string>> = {
  "": `Usage: msghub client [options] [command]

Talks to a hub in the binary dialect, over TCP, TLS or WebSocket. Without a
command it runs a session: commands are read from stdin one per line and
answered in order, and messages from other clients are printed as "message
from ID: BODY". With a pipe it is scriptable and exits 0 at the end of stdin
once every answer is printed. On a terminal it is interactive: a "msghub> "
prompt with line editing (arrows, Home/End, Backspace/Delete,
Ctrl-A/E/U/K/W), history (Up/Down) and Tab completion of command names;
answers and messages are printed above the line being typed. Ctrl-C drops
the line (on an empty line it leaves), Ctrl-D on an empty line leaves.

Session commands, one per line:
  identity | list | echo TEXT | relay IDS TEXT | help | quit
  "relay" alone starts a multi-line relay: a line of IDS, then body lines
  up to an empty line.

Commands (--json: one JSON value per line instead of text):
  identity [--json]    print this client's id
  list [--json]        print the ids of the other clients, one per line
  echo TEXT... [--json]
                       print TEXT as the hub echoes it
  relay IDS [TEXT...] [--json]
                       relay TEXT, or --file PATH or stdin as raw bytes, to
                       IDS (like 2,3), and print the hub's receipt
  listen [--count N] [--json] [--out DIR]
                       print "id ID", then each message relayed to this
                       client (or save each body to a file in DIR)
  ping [--count N] [--json]
                       measure N round trips to the hub (default 5)

${OPTIONS}

Examples:
  msghub client --url ws://hub.example.com:8080/ list
  MSGHUB_URL=msghubs://hub.example.com:1234 msghub client ping

Exit status: 0 on success, 1 when the hub cannot be reached or fails the
command (relay: when no receiver got the message), 2 on a usage error.
"msghub client help COMMAND" describes one command.`,
  identity: `Usage: msghub client [options] identity [--json]

Prints the user id the hub gave this connection. With --json it prints
{"id":"5"} (ids are strings: a u64 does not fit a JSON number).

${OPTIONS}
${JSON_OPTION}`,
  list: `Usage: msghub client [options] list [--json]

Prints the ids of the other registered clients, ascending, one per line
(nothing when this client is alone). With --json it prints one line, a JSON
array of the ids as strings (a u64 does not fit a JSON number): ["2","3"],
or [] when this client is alone.

${OPTIONS}
  --json             print one JSON array`,
  echo: `Usage: msghub client [options] echo TEXT... [--json]

Sends TEXT (the arguments joined by spaces) to the hub and prints what it
sends back. Put -- before text that starts with a dash. With --json it
prints {"body":"hi","encoding":"utf8"}.

${OPTIONS}
${JSON_OPTION}`,
  relay: `Usage: msghub client [options] relay IDS [TEXT...] [--json]
       msghub client [options] relay IDS --file PATH [--json]

Relays TEXT (the arguments joined by spaces) to the clients IDS, 1 to 255
comma-separated ids such as 2,3. Without TEXT the body is the file PATH, or
all of stdin, as raw bytes (at most 1 MiB). While a body of 256 KiB or more
is sent, a terminal on stderr shows the bytes sent so far. Prints the hub's
receipt, "relayed N" or "relayed N unknown 3,4", or with --json
{"delivered":1,"unknown":["3","4"]}. Exits 0 when at least one receiver got
the message, 1 when none did.

${OPTIONS}
  --file PATH        send the bytes of PATH
${JSON_OPTION}`,
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
  ping: `Usage: msghub client [options] ping [--count N] [--json]

Sends N protocol PINGs to the hub, one after another, and prints the round
trip of each as its PONG comes back, then the minimum, average and maximum:

  round trip 1: 0.213 ms
  …
  5 round trips to 127.0.0.1:1234: min/avg/max 0.087/0.121/0.213 ms

With --json it prints one object instead, times in milliseconds:
{"hub":"127.0.0.1:1234","count":5,"rtt_ms":[0.213,…],"min_ms":0.087,
"avg_ms":0.121,"max_ms":0.213}.

${OPTIONS}
  --count N          round trips to measure (default 5)
${JSON_OPTION}`,
};

/**
 * Whether `word` is a command of `msghub client` (`""` is the session).
 *
 * @example
 * ```ts
 * import { isCommand } from "./_usage.ts";
 * if (!isCommand("ping") || isCommand("constructor")) throw new Error("Wrong");
 * ```
 */
export function isCommand(word: string): boolean {
  return Object.hasOwn(CLIENT_USAGE, word);
}
