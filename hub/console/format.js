// @ts-check
/// <reference lib="dom" />
/**
 * How the console writes numbers, sizes and times, and sets text.
 *
 * @module
 */

/** @param {string} id */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`No element "${id}"`);
  return element;
}

/** @param {number} n */
export function count(n) {
  return n.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

/** @param {number} n */
export function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toLocaleString("en-US", { maximumFractionDigits: 1 })} ${
    units[i]
  }`;
}

/** @param {number} seconds */
export function duration(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${Math.floor(s % 3600 / 60)}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor(s % 86400 / 3600)}h`;
}

/** @param {number} ms */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB");
}

/** @param {string} id @param {string} text */
export function setText(id, text) {
  const element = byId(id);
  if (element.textContent !== text) element.textContent = text;
}
