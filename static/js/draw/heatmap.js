// Plotly heatmaps of number grids with the values printed in the cells, square cells, row 0
// at the top, and rectangle shapes for highlights. Every page draws grids through here.
// Colours come from the viewer's scheme (lib/colormaps.js); in presenter mode cells and
// their numbers may grow larger (lib/presenter.js). A number is printed only where it can
// be read: in a cell of at least TEXT_CELL pixels, at MIN_FONT pixels or more.

import { scheme } from "../lib/colormaps.js";
import { isPresenting } from "../lib/presenter.js";

export const PLOT_CONFIG = {
  displaylogo: false,
  responsive: false,
  scrollZoom: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
  toImageButtonOptions: { format: "png", scale: 2 },
};

export const COLORS = {
  window: "#f59e0b",
  current: "#f59e0b",
  tap: "#b45309",
  winner: "#15803d",
  padding: "#e5e7eb",
  paddingText: "#6b7280",
  empty: "#f8fafc",
};

export const DIVERGING = scheme().diverging;
export const SEQUENTIAL = scheme().sequential;
export const GRAYS = [[0, "#000000"], [1, "#ffffff"]];

const MIN_CELL = 8;
const TEXT_CELL = 20; // below this many pixels per cell, values are not printed
export const MIN_FONT = 12; // ... nor in a smaller font

// The largest cell, and the largest font in one: larger on a projector.
export const maxCell = () => (isPresenting() ? 96 : 56);
export const maxFont = () => (isPresenting() ? 34 : 22);

export function cellSize(rows, cols, box) {
  return Math.max(MIN_CELL, Math.min(maxCell(), Math.floor(box / Math.max(rows, cols))));
}

// The font for one number in a cell.
export const cellFont = (cell) => Math.round(Math.min(maxFont(), cell * 0.55));

export function extent(grids) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const grid of grids) {
    for (const row of grid) {
      for (const v of row) {
        if (v === null || v === undefined) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (lo === Infinity) return [0, 1];
  return [lo, hi];
}

// Colour settings for a set of grids shown on one scale: diverging around 0 when values
// have both signs, sequential from 0 otherwise.
export function colorScale(grids) {
  const [lo, hi] = extent(grids);
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi) || 1;
    return { colorscale: DIVERGING, zmin: -m, zmax: m };
  }
  if (lo < 0) return { colorscale: DIVERGING, zmin: lo, zmax: -lo || 1 };
  return { colorscale: SEQUENTIAL, zmin: Math.min(0, lo), zmax: hi > lo ? hi : lo + 1 };
}

export function layout(rows, cols, cell, extra = {}) {
  const margin = { l: 2, r: 2, t: 2, b: 2 };
  return {
    width: cols * cell + margin.l + margin.r,
    height: rows * cell + margin.t + margin.b,
    margin,
    xaxis: { visible: false, range: [-0.5, cols - 0.5], constrain: "domain" },
    yaxis: { visible: false, range: [rows - 0.5, -0.5], scaleanchor: "x", constrain: "domain" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: COLORS.empty,
    showlegend: false,
    shapes: [],
    dragmode: false,
    hoverlabel: { font: { size: 16 } },
    ...extra,
  };
}

// One heatmap trace. `text` is the grid of strings printed in the cells.
export function trace(z, text, cell, scale, extra = {}) {
  const font = (extra.textfont && extra.textfont.size) || cellFont(cell);
  const showText = cell >= TEXT_CELL && font >= MIN_FONT;
  return {
    type: "heatmap",
    z,
    text,
    texttemplate: showText ? "%{text}" : "",
    textfont: { size: cellFont(cell) },
    hovertemplate: "row %{y}, column %{x}: %{text}<extra></extra>",
    xgap: 1,
    ygap: 1,
    showscale: false,
    ...scale,
    ...extra,
  };
}

// Padding cells drawn over a grid: `pad` is 0 where a cell is padding and null elsewhere.
export function paddingTrace(pad, cell) {
  const text = pad.map((row) => row.map((v) => (v === null ? "" : "0")));
  return trace(pad, text, cell,
    { colorscale: [[0, COLORS.padding], [1, COLORS.padding]], zmin: 0, zmax: 1 },
    { textfont: { color: COLORS.paddingText, size: cellFont(cell) },
      hovertemplate: "row %{y}, column %{x}: padding (0)<extra></extra>" });
}

export function rect(r0, c0, r1, c1, { color = COLORS.window, width = 3, dash = "solid" } = {}) {
  return {
    type: "rect",
    xref: "x",
    yref: "y",
    x0: c0 - 0.5,
    x1: c1 + 0.5,
    y0: r0 - 0.5,
    y1: r1 + 0.5,
    line: { color, width, dash },
    fillcolor: "rgba(0,0,0,0)",
  };
}

// A cell outlined boldly: the current step's, or (with COLORS.winner) the winner of a max.
export function mark(r, c, color = COLORS.current) {
  return rect(r, c, r, c, { color, width: 4 });
}

export function draw(div, traces, lay) {
  return window.Plotly.react(div, traces, lay, PLOT_CONFIG);
}

export function setShapes(div, shapes) {
  return window.Plotly.relayout(div, { shapes });
}

export function setGrid(div, z, text, traceIndex = 0) {
  return window.Plotly.restyle(div, { z: [z], text: [text] }, [traceIndex]);
}
