/**
 * The requests of both dialects (private to the hub): what a session does
 * with each binary frame and each text command once parsed. The handlers
 * see their session through a narrow {@linkcode Requester}.
 *
 * @module
 */
import {
  ARENA_LARGE,
  encodeIdentityReply,
  encodeListReply,
  ErrorCode,
  formatList,
  formatRelayed,
  HEADER_SIZE,
  isUtf8,
  Kind,
  TEXT_HELP,
  type TextCommand,
  writeHeader,
} from "../protocol/mod.ts";
import type { Peer } from "./_peer.ts";
import type { SessionHost } from "./_session_host.ts";

/** A session as its request handlers see it. */
export interface Requester {
  /** The session, as relays name their sender. */
  readonly peer: Peer;
  /** The hub, as the session sees it. */
  readonly host: SessionHost;
  /** Whether requests are still served: false once the session closes. */
  open: boolean;
  /** Whether the client may send more than AUTH. */
  authed: boolean;
  /** Whether replies travel in WebSocket messages. */
  readonly framed: boolean;
  /** The session's own count of requests, for `/connz`. */
  readonly counts: { msgsIn: number };
  /** Queues a reply; a binary message over WebSocket when `text` is false. */
  send(bytes: Uint8Array, text?: boolean): boolean;
  /** Queues `bytes[start..end)` as a reply. */
  sendRange(bytes: Uint8Array, start: number, end: number): boolean;
  /** Checks a token: true if it is right; a wrong one is fatal. */
  auth(token: Uint8Array): boolean;
  /** Sends the fatal error `code`, then closes. */
  fatal(code: number): void;
  /** Closes at the client's request (`quit`). */
  quit(): void;
}

const encoder = new TextEncoder();
const PONG = new Uint8Array([Kind.Pong, 0, 0, 0, 0]);
const AUTH_OK = new Uint8Array([Kind.AuthOk, 0, 0, 0, 0]);
const ECHO_HEAD = encoder.encode("echo ");
const ECHO_BARE = encoder.encode("echo");

function line(r: Requester, text: string): void {
  r.send(encoder.encode(text + "\n"));
}

/**
 * One binary request, whose payload is `source[start..end)`; `owned` when
 * the parser handed over a buffer of the frame's own.
 */
export function handleFrame(
  r: Requester,
  kind: number,
  source: Uint8Array,
  start: number,
  end: number,
  owned: boolean,
): void {
  if (!r.open) return;
  const host = r.host;
  host.counters.framesIn++;
  r.counts.msgsIn++;
  if (kind === Kind.Relay && r.authed) {
    // The hot path: a plain relay, which may extend the run being gathered.
    return host.fanout.relayFrame(r.peer, source, start, end, owned, false);
  }
  // A run of relays ends before anything else is answered or queued.
  if (kind !== Kind.Relay) r.host.fanout.flush();
  if (!r.authed && kind !== Kind.Auth) {
    return r.fatal(ErrorCode.Unauthorized);
  }
  switch (kind) {
    case Kind.Echo: {
      const length = end - start;
      if (owned && length >= ARENA_LARGE) {
        // The parser's buffer holds this frame alone: reuse its header.
        writeHeader(source, 0, Kind.EchoReply, length);
        r.send(source);
      } else {
        const at = r.host.arena.claim(HEADER_SIZE + length);
        const chunk = r.host.arena.chunk;
        writeHeader(chunk, at, Kind.EchoReply, length);
        chunk.set(source.subarray(start, end), at + HEADER_SIZE);
        r.sendRange(chunk, at, at + HEADER_SIZE + length);
      }
      return;
    }
    case Kind.Identity:
      r.send(encodeIdentityReply(r.peer.id));
      return;
    case Kind.List:
      r.send(encodeListReply(r.host.registry.listFor(r.peer.id)));
      return;
    case Kind.Relay:
      r.host.fanout.relayFrame(r.peer, source, start, end, owned, false);
      return;
    case Kind.RelayReceipted:
      r.host.counters.receipts++;
      r.host.fanout.relayFrame(r.peer, source, start, end, owned, true);
      return;
    case Kind.Ping:
      r.send(PONG);
      return;
    case Kind.Pong:
      return;
    case Kind.Auth:
      if (r.auth(source.subarray(start, end))) r.send(AUTH_OK);
      return;
  }
}

/** One text command. */
export function handleCommand(r: Requester, command: TextCommand): void {
  if (!r.open) return;
  r.host.counters.framesIn++;
  r.counts.msgsIn++;
  if (!r.authed && command.type !== "auth") {
    return r.fatal(ErrorCode.Unauthorized);
  }
  switch (command.type) {
    case "identity":
      return line(r, `identity ${r.peer.id}`);
    case "list":
      return line(r, formatList(r.host.registry.listFor(r.peer.id)));
    case "help":
      return line(r, TEXT_HELP);
    case "quit":
      return r.quit();
    case "echo": {
      const body = command.body;
      const head = body.length > 0 ? ECHO_HEAD : ECHO_BARE;
      const out = new Uint8Array(head.length + body.length + 1);
      out.set(head, 0);
      out.set(body, head.length);
      out[out.length - 1] = 0x0a;
      // A body that is not UTF-8 goes to a WebSocket in a binary message.
      r.send(out, !r.framed || isUtf8(body));
      return;
    }
    case "auth":
      if (r.auth(command.token)) line(r, "auth ok");
      return;
    case "relay": {
      r.host.counters.receipts++;
      const { delivered, unknown, remote } = r.host.fanout.relayText(
        r.peer,
        command.ids,
        command.body,
      );
      if (remote === undefined) {
        return line(r, formatRelayed(delivered, unknown));
      }
      // Other hubs have yet to confirm: the line waits for them, in order.
      const reply = remote.then((receipt) =>
        encoder.encode(formatRelayed(receipt.delivered, receipt.unknown) + "\n")
      );
      if (r.peer.later !== undefined) return r.peer.later(reply);
      reply.then((bytes) => r.send(bytes));
      return;
    }
    case "error":
      return line(r, `error ${command.message}`);
  }
}
