// @ts-check
/// <reference lib="dom" />
/**
 * The msghub web console: a thin client of the hub's JSON endpoints. Plain
 * JavaScript with JSDoc types, checked by `deno check` (see
 * tests/hub/monitor_console_test.ts), so that the hub serves it as it is: no
 * build step, no CDN, nothing but this file, the page and its stylesheet.
 *
 * One request a second to `/hubz` feeds the tiles and charts (the first
 * asks for the last minutes of samples, so the charts start full); `/connz`
 * is read every other second for the client table and recent departures.
 * The "try it" panel (try_it.js) joins the hub over WebSocket when asked.
 *
 * @module
 */

/**
 * @typedef {import("./charts.js").Sample} Sample
 * @typedef {{ transport: string, tls: boolean, address: string }} ListenAddress
 * @typedef {{
 *   version: string, now_ms: number, uptime_seconds: number, draining: boolean,
 *   listening: ListenAddress[],
 *   connections: { open: number, registered: number },
 *   totals: { msgs_in: number, msgs_out: number, bytes_in: number,
 *     bytes_out: number, relays: number, receipts: number },
 *   rates: { msgs_in: number, msgs_out: number, bytes_in: number, bytes_out: number },
 *   bytes_queued: number,
 *   process: { rss_bytes: number, cpu_seconds: number },
 *   cluster: null | { name: string, hub: number, server: string,
 *     connected: boolean, reconnects: number,
 *     hubs: { hub: number, clients: number }[] },
 *   history?: Sample[],
 * }} Hubz
 * @typedef {{ id: number, remote: string, dialect: string, transport: string,
 *   tls: boolean, authenticated: boolean, connected_ms: number,
 *   idle_seconds: number, msgs_in: number, msgs_out: number, bytes_in: number,
 *   bytes_out: number, bytes_queued: number }} Client
 * @typedef {{ id: number, remote: string, transport: string, reason: string,
 *   connected_ms: number, closed_ms: number, msgs_in: number,
 *   msgs_out: number }} Departure
 * @typedef {{ now_ms: number, total: number, connections: Client[],
 *   recent_closes: Departure[] }} Connz
 * @typedef {{ key: keyof Client, label: string, num?: boolean,
 *   show: (c: Client, now: number) => string }} Column
 */

import { addSample, drawCharts } from "./charts.js";
import { byId, bytes, clock, count, duration, setText } from "./format.js";
import { TryIt } from "./try_it.js";

const TOKEN_KEY = "msghub.token";
// ---------------------------------------------------------------- fetching

class Unauthorized extends Error {}

/**
 * GETs `path` as JSON, with the token when there is one.
 * @param {string} path
 * @returns {Promise<unknown>}
 */
async function getJson(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  /** @type {Record<string, string>} */
  const headers = token === null ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(path, { headers, cache: "no-store" });
  if (response.status === 401) {
    await response.body?.cancel();
    throw new Unauthorized("unauthorized");
  }
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return await response.json();
}

// ------------------------------------------------------------------ charts
// ------------------------------------------------------------------- hubz

/** @param {Hubz} hubz */
function showHubz(hubz) {
  setText("version", hubz.version);
  setText(
    "listening",
    hubz.listening.map((l) =>
      `${l.transport}${l.tls ? "+tls" : ""} ${l.address}`
    ).join(", "),
  );
  setText("uptime", duration(hubz.uptime_seconds));
  setText("memory", bytes(hubz.process.rss_bytes));
  setText("cpu", `${hubz.process.cpu_seconds.toFixed(1)}s`);
  setText("t-connections", count(hubz.connections.open));
  setText("t-msgs-in", count(hubz.rates.msgs_in));
  setText("t-msgs-out", count(hubz.rates.msgs_out));
  setText("t-bytes-in", bytes(hubz.rates.bytes_in));
  setText("t-bytes-out", bytes(hubz.rates.bytes_out));
  setText("t-relays", count(hubz.totals.relays));
  setText("t-receipts", count(hubz.totals.receipts));
  setText("t-queued", bytes(hubz.bytes_queued));
  for (const sample of hubz.history ?? []) addSample(sample);
  addSample({
    t: hubz.now_ms,
    msgs_in: hubz.totals.msgs_in,
    msgs_out: hubz.totals.msgs_out,
    bytes_in: hubz.totals.bytes_in,
    bytes_out: hubz.totals.bytes_out,
    connections: hubz.connections.open,
  });
  drawCharts();
  showCluster(hubz.cluster);
  tryIt.update(hubz.listening);
}

/** @param {Hubz["cluster"]} cluster */
function showCluster(cluster) {
  const panel = byId("cluster-panel");
  panel.hidden = cluster === null;
  if (cluster === null) return;
  setText(
    "cluster-summary",
    `Cluster "${cluster.name}": this is hub ${cluster.hub}, ${
      cluster.connected ? "connected to" : "cut off from"
    } NATS at ${cluster.server} (${cluster.reconnects} reconnects).`,
  );
  const body = /** @type {HTMLTableSectionElement} */ (
    byId("cluster-hubs").querySelector("tbody")
  );
  body.replaceChildren(
    ...cluster.hubs.map((h) =>
      row([String(h.hub), { text: count(h.clients), num: true }])
    ),
  );
}

// ------------------------------------------------------------------ tables

/**
 * A table row of cells, each text (or text that is a number).
 * @param {(string | { text: string, num: boolean })[]} cells
 */
function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (typeof cell === "string") td.textContent = cell;
    else {
      td.textContent = cell.text;
      if (cell.num) td.className = "num";
    }
    tr.append(td);
  }
  return tr;
}

/** @type {Column[]} */
const COLUMNS = [
  { key: "id", label: "Id", num: true, show: (c) => String(c.id) },
  { key: "remote", label: "Remote", show: (c) => c.remote },
  { key: "dialect", label: "Dialect", show: (c) => c.dialect },
  { key: "transport", label: "Transport", show: (c) => c.transport },
  { key: "tls", label: "TLS", show: (c) => c.tls ? "yes" : "no" },
  {
    key: "authenticated",
    label: "Auth",
    show: (c) => c.authenticated ? "yes" : "no",
  },
  {
    key: "connected_ms",
    label: "Connected",
    show: (c, now) => duration((now - c.connected_ms) / 1000),
  },
  {
    key: "idle_seconds",
    label: "Idle",
    num: true,
    show: (c) => duration(c.idle_seconds),
  },
  {
    key: "msgs_in",
    label: "Msgs in",
    num: true,
    show: (c) => count(c.msgs_in),
  },
  {
    key: "msgs_out",
    label: "Msgs out",
    num: true,
    show: (c) => count(c.msgs_out),
  },
  {
    key: "bytes_in",
    label: "Bytes in",
    num: true,
    show: (c) => bytes(c.bytes_in),
  },
  {
    key: "bytes_out",
    label: "Bytes out",
    num: true,
    show: (c) => bytes(c.bytes_out),
  },
  {
    key: "bytes_queued",
    label: "Queued",
    num: true,
    show: (c) => bytes(c.bytes_queued),
  },
];

/** The client table's order: a column and a direction. */
const order = { key: /** @type {keyof Client} */ ("id"), up: true };
/** @type {Connz | null} */
let lastConnz = null;

function buildHeader() {
  const tr = /** @type {HTMLTableRowElement} */ (
    byId("clients").querySelector("thead tr")
  );
  for (const column of COLUMNS) {
    const th = document.createElement("th");
    th.scope = "col";
    th.dataset.key = column.key;
    if (column.num) th.className = "num";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = column.label;
    button.addEventListener("click", () => {
      order.up = order.key === column.key ? !order.up : true;
      order.key = column.key;
      showClients();
    });
    th.append(button);
    tr.append(th);
  }
}

function showClients() {
  const connz = lastConnz;
  if (connz === null) return;
  for (const th of byId("clients").querySelectorAll("th")) {
    const key = /** @type {HTMLElement} */ (th).dataset.key;
    th.setAttribute(
      "aria-sort",
      key === order.key ? (order.up ? "ascending" : "descending") : "none",
    );
  }
  const { key, up } = order;
  const clients = [...connz.connections].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const cmp = x < y ? -1 : x > y ? 1 : a.id - b.id;
    return up ? cmp : -cmp;
  });
  const body = /** @type {HTMLTableSectionElement} */ (
    byId("clients").querySelector("tbody")
  );
  body.replaceChildren(...clients.map((c) => {
    const tr = row(COLUMNS.map((column) => ({
      text: column.show(c, connz.now_ms),
      num: column.num === true,
    })));
    tr.dataset.id = String(c.id);
    return tr;
  }));
  setText(
    "clients-count",
    connz.total > clients.length
      ? `(${clients.length} of ${connz.total})`
      : `(${connz.total})`,
  );
  const closes = /** @type {HTMLTableSectionElement} */ (
    byId("closes").querySelector("tbody")
  );
  closes.replaceChildren(...connz.recent_closes.map((d) =>
    row([
      { text: String(d.id), num: false },
      d.remote,
      d.transport,
      d.reason,
      clock(d.closed_ms),
      duration((d.closed_ms - d.connected_ms) / 1000),
      { text: count(d.msgs_in), num: true },
      { text: count(d.msgs_out), num: true },
    ])
  ));
}

// ------------------------------------------------------------------- token

/** @type {(() => void) | null} */
let unlocked = null;

/** Shows the token form and resolves once a token is given. @param {boolean} refused */
function askToken(refused) {
  const panel = byId("token-panel");
  panel.hidden = false;
  setText(
    "token-error",
    refused ? "The hub refused that token. Try again." : "",
  );
  const input = /** @type {HTMLInputElement} */ (byId("token-input"));
  input.focus();
  return new Promise((resolve) => {
    unlocked = () => resolve(undefined);
  });
}

function setupTokenForm() {
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ (byId("token-input"));
    const token = input.value.trim();
    if (token === "") return;
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = "";
    byId("token-panel").hidden = true;
    unlocked?.();
    unlocked = null;
  });
}

// -------------------------------------------------------------------- loop

/** @param {string} text @param {"ok" | "bad" | ""} state */
function status(text, state) {
  const element = byId("status");
  element.className = `status ${state}`;
  setText("status", text);
}

async function poll() {
  let tick = 0;
  let history = true;
  while (true) {
    const started = performance.now();
    try {
      const hubz = /** @type {Hubz} */ (
        await getJson(history ? "/hubz?history" : "/hubz")
      );
      history = false;
      showHubz(hubz);
      if (tick % 2 === 0) {
        lastConnz = /** @type {Connz} */ (await getJson("/connz?limit=500"));
        showClients();
      }
      status(hubz.draining ? "Draining" : "Live", hubz.draining ? "bad" : "ok");
      tick++;
    } catch (error) {
      if (error instanceof Unauthorized) {
        const refused = sessionStorage.getItem(TOKEN_KEY) !== null;
        sessionStorage.removeItem(TOKEN_KEY);
        status("Locked: token needed", "bad");
        await askToken(refused);
        history = true;
        continue;
      }
      status(`Cannot reach the hub (${String(error)}); retrying`, "bad");
    }
    const wait = 1000 - (performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(100, wait)));
  }
}

for (
  const [id, title] of [
    ["chart-msgs", "Messages per second"],
    ["chart-bytes", "Bytes per second"],
    ["chart-conns", "Open connections"],
  ]
) byId(/** @type {string} */ (id)).dataset.title = title;
const tryIt = new TryIt(() => sessionStorage.getItem(TOKEN_KEY));
buildHeader();
setupTokenForm();
poll();
