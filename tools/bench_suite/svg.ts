/**
 * A small SVG bar chart of ratios, with a line at 1, for BENCHMARKS.md.
 * Pure code: it returns the document as a string.
 *
 * @module
 */

/** One bar: a label and a ratio; a missing ratio is `NaN`. */
export interface RatioBar {
  /** The bar's name, under it. */
  label: string;
  /** Its ratio; 1 is parity. */
  value: number;
}

const WIDTH = 720;
const LEFT = 230;
const RIGHT = 80;
const ROW = 34;
const TOP = 56;
const BOTTOM = 40;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;")
    .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Draws `bars` horizontally on a linear scale that always shows 1 (parity),
 * bars at or above 1 in one colour and below it in another.
 *
 * @example
 * ```ts
 * import { renderRatioChart } from "./svg.ts";
 * const svg = renderRatioChart([{ label: "a", value: 1.5 }], { title: "msghub / NATS" });
 * if (!svg.startsWith("<svg") || !svg.includes("1.50x")) throw new Error("No chart");
 * ```
 */
export function renderRatioChart(
  bars: readonly RatioBar[],
  options: { title: string; subtitle?: string },
): string {
  const { title, subtitle = "" } = options;
  const finite = bars.map((b) => b.value).filter(Number.isFinite);
  const top = Math.max(2, ...finite.map((v) => v * 1.1));
  const plot = WIDTH - LEFT - RIGHT;
  const height = TOP + bars.length * ROW + BOTTOM;
  const x = (value: number) => LEFT + (Math.min(value, top) / top) * plot;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${
      WIDTH / 2
    }" y="22" text-anchor="middle" font-size="16" font-weight="bold">${
      escape(title)
    }</text>`,
  ];
  if (subtitle !== "") {
    out.push(
      `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555555">${
        escape(subtitle)
      }</text>`,
    );
  }
  bars.forEach((bar, i) => {
    const y = TOP + i * ROW;
    out.push(
      `<text x="${LEFT - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${
        escape(bar.label)
      }</text>`,
    );
    if (!Number.isFinite(bar.value)) {
      out.push(
        `<text x="${LEFT + 4}" y="${
          y + ROW / 2 + 4
        }" fill="#888888">no figure</text>`,
      );
      return;
    }
    const colour = bar.value >= 1 ? "#2e7d32" : "#c62828";
    const width = Math.max(1, x(bar.value) - LEFT);
    // Short of parity, the label goes past the parity line to stay clear of it.
    const labelAt = Math.max(LEFT + width, x(1)) + 6;
    out.push(
      `<rect x="${LEFT}" y="${y + 6}" width="${width.toFixed(1)}" height="${
        ROW - 12
      }" fill="${colour}"/>`,
      `<text x="${labelAt.toFixed(1)}" y="${y + ROW / 2 + 4}">${
        bar.value.toFixed(2)
      }x</text>`,
    );
  });
  const axis = TOP + bars.length * ROW;
  const one = x(1).toFixed(1);
  out.push(
    `<line x1="${LEFT}" y1="${
      TOP - 4
    }" x2="${LEFT}" y2="${axis}" stroke="#333333"/>`,
    `<line x1="${one}" y1="${
      TOP - 4
    }" x2="${one}" y2="${axis}" stroke="#333333" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${
      axis + 16
    }" text-anchor="middle" fill="#333333">1 (parity)</text>`,
    `<text x="${LEFT}" y="${
      axis + 16
    }" text-anchor="middle" fill="#333333">0</text>`,
    "</svg>",
  );
  return out.join("\n") + "\n";
}
