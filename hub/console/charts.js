// @ts-check
/// <reference lib="dom" />
/**
 * The console's charts: samples of the hub's totals, one a second, drawn
 * as SVG paths by hand (no library).
 *
 * @module
 */
import { byId, bytes, count, setText } from "./format.js";

/**
 * @typedef {{ t: number, msgs_in: number, msgs_out: number, bytes_in: number,
 *   bytes_out: number, connections: number }} Sample
 */

/** Seconds the charts span at most. */
export const WINDOW = 300;

/** Samples of totals, oldest first, one a second at most. */
/** @type {Sample[]} */
const samples = [];

/** @param {Sample} sample */
export function addSample(sample) {
  const last = samples.at(-1);
  if (last !== undefined && sample.t <= last.t) return;
  samples.push(sample);
  const cutoff = sample.t - (WINDOW + 2) * 1000;
  while (samples.length > 0 && /** @type {Sample} */ (samples[0]).t < cutoff) {
    samples.shift();
  }
}

/**
 * Per-second rates of `key` between consecutive samples, with their times.
 * @param {"msgs_in" | "msgs_out" | "bytes_in" | "bytes_out"} key
 * @returns {[number, number][]}
 */
function rateSeries(key) {
  /** @type {[number, number][]} */
  const points = [];
  for (let i = 1; i < samples.length; i++) {
    const a = /** @type {Sample} */ (samples[i - 1]);
    const b = /** @type {Sample} */ (samples[i]);
    const seconds = (b.t - a.t) / 1000;
    points.push([b.t, Math.max(0, b[key] - a[key]) / seconds]);
  }
  return points;
}

/** @returns {[number, number][]} */
function connectionSeries() {
  return samples.map((
    s,
  ) => /** @type {[number, number]} */ ([s.t, s.connections]));
}

/** A scale's top: 1, 2 or 5 times a power of ten, at least `max`. @param {number} max */
function niceTop(max) {
  if (max <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

/**
 * Draws `series` (each a list of [time, value]) on the SVG with this id.
 * @param {string} id
 * @param {{ name: string, cls: string, points: [number, number][] }[]} series
 * @param {(n: number) => string} format
 */
function drawChart(id, series, format) {
  const svg = byId(id);
  const now = samples.at(-1)?.t ?? Date.now();
  // The charts span what there is, from a minute up to the whole window.
  const first = samples[0]?.t ?? now;
  const span = Math.min(WINDOW * 1000, Math.max(60_000, now - first));
  const start = now - span;
  let max = 0;
  for (const { points } of series) {
    for (const [, v] of points) max = Math.max(max, v);
  }
  const top = niceTop(max);
  const parts = [];
  for (const fraction of [0.25, 0.5, 0.75]) {
    const y = (100 * fraction).toFixed(1);
    parts.push(`<line class="grid" x1="0" x2="300" y1="${y}" y2="${y}"/>`);
  }
  for (const { cls, points } of series) {
    const d = points
      .filter(([t]) => t >= start)
      .map(([t, v], i) =>
        `${i === 0 ? "M" : "L"}${((t - start) / span * 300).toFixed(1)},${
          (100 - (v / top) * 98).toFixed(1)
        }`
      ).join("");
    if (d !== "") parts.push(`<path class="${cls}" d="${d}"/>`);
  }
  // The markup is built from numbers only; nothing from the hub is text here.
  svg.innerHTML = parts.join("");
  const latest = series.map(({ name, points }) =>
    `${name} ${format(points.at(-1)?.[1] ?? 0)}`
  );
  svg.setAttribute(
    "aria-label",
    `${svg.dataset.title ?? ""}: ${latest.join(", ")}`,
  );
  svg.dataset.last = String(series[0]?.points.at(-1)?.[1] ?? 0);
  setText(`${id}-scale`, `scale 0 – ${format(top)}; now ${latest.join(", ")}`);
}

export function drawCharts() {
  drawChart("chart-msgs", [
    { name: "in", cls: "in", points: rateSeries("msgs_in") },
    { name: "delivered", cls: "out", points: rateSeries("msgs_out") },
  ], (n) => `${count(n)}/s`);
  drawChart("chart-bytes", [
    { name: "in", cls: "in", points: rateSeries("bytes_in") },
    { name: "out", cls: "out", points: rateSeries("bytes_out") },
  ], (n) => `${bytes(n)}/s`);
  drawChart("chart-conns", [
    { name: "open", cls: "in", points: connectionSeries() },
  ], count);
}
