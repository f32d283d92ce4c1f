// @ts-check
/// <reference lib="dom" />
/**
 * The console's "try it" panel: it joins the hub over WebSocket from the page
 * itself, as a text client like any other (the browser's own WebSocket; lines
 * as in hub/console/text_dialect.js), shows its id, lists the other clients,
 * relays text to the ids chosen, and shows what it receives.
 *
 * The panel shows its controls only when `/hubz` reports a WebSocket
 * listener, and otherwise says how to start one (`--ws-port`). It joins when
 * asked (the Join button), not on load: a console tab is not a client until
 * its reader wants it to be.
 *
 * @module
 */

import {
  bodyText,
  parseIds,
  relayLine,
  socketUrl,
  TextDialectParser,
} from "./text_dialect.js";
import { byId, clock, setText } from "./format.js";

/**
 * @typedef {{ transport: string, tls: boolean, address: string }} ListenAddress
 * @typedef {import("./text_dialect.js").HubLine} HubLine
 * @typedef {{ kind: "auth" | "identity" | "list" }
 *   | { kind: "relay", ids: number[] }} Asked
 */

/** Incoming messages the panel keeps on screen; older ones are dropped. */
const INBOX_LIMIT = 100;

/** The "try it" panel of the page; one per page. */
export class TryIt {
  /** @type {() => string | null} */
  #token;
  /** The WebSocket URL of the hub's listener; `null` when it has none. */
  /** @type {string | null} */
  #url = null;
  /** @type {WebSocket | null} */
  #socket = null;
  #opened = false;
  /** @type {TextDialectParser} */
  #parser = new TextDialectParser();
  /** Commands sent and not yet answered, oldest first. @type {Asked[]} */
  #asked = [];
  /** The last `error` line: the hub's reason when it closes. @type {string | null} */
  #lastError = null;

  /**
   * Wires the panel's controls; shows nothing until {@link TryIt.update}.
   * @param {() => string | null} token the hub token, when the console has one
   */
  constructor(token) {
    this.#token = token;
    byId("try-join").addEventListener("click", () => {
      if (this.#socket === null) this.#join();
      else this.#leave();
    });
    byId("try-list").addEventListener(
      "click",
      () => this.#ask({ kind: "list" }, "list\n"),
    );
    byId("try-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#relay();
    });
    this.#toInput.addEventListener("input", () => this.#checkTyped());
    this.#enable(false);
  }

  /**
   * Shows the panel for what `/hubz` says the hub listens on.
   * @param {ListenAddress[]} listening
   */
  update(listening) {
    const ws = listening.find((l) => l.transport === "ws");
    const url = ws === undefined ? null : socketUrl(ws, location.hostname);
    byId("try-it").hidden = false;
    byId("try-off").hidden = url !== null;
    byId("try-on").hidden = url === null;
    if (url === this.#url) return;
    this.#url = url;
    if (url !== null) setText("try-url", url);
    // The listener moved or went: a socket to the old one is of no use.
    if (this.#socket !== null) this.#leave();
  }

  // ------------------------------------------------------------- socket

  #join() {
    const url = this.#url;
    if (url === null) return;
    this.#parser = new TextDialectParser();
    this.#asked = [];
    this.#lastError = null;
    this.#opened = false;
    this.#state(`Joining ${url}…`, "");
    setText("try-join", "Leave");
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.#state(`Cannot join ${url}: ${String(error)}`, "bad");
      setText("try-join", "Join");
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.addEventListener("open", () => {
      if (this.#socket !== socket) return;
      this.#opened = true;
      const token = this.#token();
      if (token !== null) this.#ask({ kind: "auth" }, `auth ${token}\n`);
      this.#ask({ kind: "identity" }, "identity\n");
      this.#ask({ kind: "list" }, "list\n");
    });
    socket.addEventListener("message", (event) => {
      if (this.#socket !== socket) return;
      for (const line of this.#parser.push(event.data)) this.#heard(line);
    });
    socket.addEventListener("close", (event) => {
      if (this.#socket !== socket) return;
      this.#closed(event);
    });
  }

  #leave() {
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000);
    this.#reset();
    this.#state("Left the hub", "");
  }

  /** @param {CloseEvent} event */
  #closed(event) {
    const url = this.#url ?? "";
    const opened = this.#opened;
    this.#socket = null;
    this.#reset();
    if (!opened) {
      this.#state(
        `Could not join ${url}: the hub refused the WebSocket upgrade or ` +
          `cannot be reached. A hub started with --ws-origin takes pages ` +
          `only from the origins it lists: add this console's, ` +
          `${location.origin}.` +
          (url.startsWith("wss:")
            ? " With a self-signed certificate, open the hub's address in " +
              "this browser once and accept it."
            : ""),
        "bad",
      );
      return;
    }
    const why = this.#lastError !== null
      ? `error ${this.#lastError}`
      : event.reason !== ""
      ? event.reason
      : `code ${event.code}`;
    this.#state(`The hub closed the connection (${why})`, "bad");
  }

  #reset() {
    setText("try-join", "Join");
    setText("try-id", "–");
    this.#enable(false);
  }

  /**
   * Sends a command and remembers that it awaits a reply.
   * @param {Asked} asked @param {string} line
   */
  #ask(asked, line) {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    this.#asked.push(asked);
    socket.send(line);
  }

  /** @param {HubLine} line */
  #heard(line) {
    switch (line.kind) {
      case "message":
        return this.#incoming(line.sender, bodyText(line), line.text === null);
      case "other":
        return;
      case "error":
        this.#lastError = line.message;
        break;
    }
    const asked = this.#asked.shift();
    if (line.kind === "error") {
      const text = `The hub answered: error ${line.message}`;
      if (asked?.kind === "relay") this.#result(text, "bad");
      else this.#state(text, "bad");
      return;
    }
    switch (line.kind) {
      case "auth":
        return;
      case "identity":
        setText("try-id", String(line.id));
        this.#state(`Joined as client ${line.id}`, "ok");
        this.#enable(true);
        return;
      case "list":
        return this.#showUsers(line.ids);
      case "relayed": {
        const ids = asked?.kind === "relay" ? asked.ids : [];
        const unknown = line.unknown.length > 0
          ? `; unknown: ${line.unknown.join(", ")}`
          : "";
        this.#result(
          `Relayed to ${line.delivered} of ${ids.length || "?"}${unknown}`,
          line.unknown.length > 0 ? "bad" : "ok",
        );
        return;
      }
    }
  }

  // ------------------------------------------------------------ display

  /** @param {string} text @param {"ok" | "bad" | ""} tone */
  #state(text, tone) {
    byId("try-state").className = `status ${tone}`;
    setText("try-state", text);
  }

  /** @param {string} text @param {"ok" | "bad" | ""} tone */
  #result(text, tone) {
    byId("try-result").className = `status ${tone}`;
    setText("try-result", text);
  }

  /** @param {boolean} on */
  #enable(on) {
    for (const id of ["try-list", "try-to", "try-text", "try-send"]) {
      /** @type {HTMLButtonElement | HTMLInputElement} */ (byId(id)).disabled =
        !on;
    }
    if (!on) {
      byId("try-users").replaceChildren();
      setText("try-users-note", "Join to see the other clients.");
    }
  }

  get #toInput() {
    return /** @type {HTMLInputElement} */ (byId("try-to"));
  }

  /** The ids typed in the To field; none while it does not parse. */
  #typedIds() {
    const ids = parseIds(this.#toInput.value);
    return typeof ids === "string" ? [] : ids;
  }

  /** @param {number[]} ids */
  #showUsers(ids) {
    const typed = this.#typedIds();
    const list = byId("try-users");
    list.replaceChildren(...ids.map((id) => {
      const item = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(id);
      box.checked = typed.includes(id);
      box.addEventListener("change", () => this.#checked(id, box.checked));
      label.append(box, ` ${id}`);
      item.append(label);
      item.dataset.id = String(id);
      return item;
    }));
    setText(
      "try-users-note",
      ids.length === 0
        ? "No other client is connected."
        : `${ids.length} other client${ids.length === 1 ? "" : "s"}, as of ${
          clock(Date.now())
        }:`,
    );
  }

  /** A checkbox changed: the To field follows. @param {number} id @param {boolean} on */
  #checked(id, on) {
    const ids = this.#typedIds().filter((x) => x !== id);
    if (on) ids.push(id);
    this.#toInput.value = ids.join(",");
  }

  /** The To field changed: the checkboxes follow. */
  #checkTyped() {
    const typed = this.#typedIds();
    for (const box of byId("try-users").querySelectorAll("input")) {
      box.checked = typed.includes(Number(box.value));
    }
  }

  #relay() {
    const ids = parseIds(this.#toInput.value);
    if (typeof ids === "string") return this.#result(ids, "bad");
    const input = /** @type {HTMLInputElement} */ (byId("try-text"));
    let line;
    try {
      line = relayLine(ids, input.value);
    } catch (error) {
      return this.#result(
        error instanceof Error ? error.message : String(error),
        "bad",
      );
    }
    this.#ask({ kind: "relay", ids }, line);
    this.#result(`Relaying to ${ids.join(", ")}…`, "");
    input.value = "";
  }

  /**
   * Shows a message received, newest first.
   * @param {number} sender @param {string} text @param {boolean} binary
   */
  #incoming(sender, text, binary) {
    const list = byId("try-inbox");
    const item = document.createElement("li");
    item.dataset.sender = String(sender);
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = `from ${sender}`;
    const body = document.createElement("span");
    body.className = binary ? "body binary" : "body";
    body.textContent = text;
    const time = document.createElement("time");
    time.className = "muted";
    time.textContent = clock(Date.now());
    item.append(from, ": ", body, " ", time);
    list.prepend(item);
    while (list.children.length > INBOX_LIMIT) list.lastElementChild?.remove();
    byId("try-inbox-empty").hidden = true;
  }
}
