// Grids of numbers as Plotly heatmaps in captioned figure slots: the values printed in the
// cells, special cells (padding, inserted zeros, cropped cells) in a grey style of their own,
// window outlines with each tap of a dilated window, and an output revealed step by step.
//
//   const [div] = plotSlots(container, ["5 × 5"]);
//   drawGrid(div, grid, { cell, scale, special: (r, c) => (isPad(r, c) ? "padding" : null) });
//   setShapes(div, windowShapes(r0, c0, kh, kw, dh, dw));
//   const divs = drawGrids(container, grids, labels, { cell, scale });   // the two at once

import { fmt } from "../lib/format.js";
import { isPresenting } from "../lib/presenter.js";
import * as H from "./heatmap.js";

// How each kind of special cell looks and what it says when hovered.
export const SPECIAL = {
  padding: { fill: H.COLORS.padding, ink: H.COLORS.paddingText, text: "0", hover: "padding (0)" },
  ignored: { fill: H.COLORS.padding, ink: H.COLORS.paddingText, text: "−∞", hover: "padding (−∞: max ignores it)" },
  inserted: { fill: "#fef3c7", ink: "#92400e", text: "0", hover: "inserted zero" },
  cropped: { fill: "#d6dde6", ink: "#64748b", text: "", hover: "cropped by padding" },
  hole: { fill: "#f8fafc", ink: "#cbd5e1", text: "·", hover: "skipped by the dilation" },
};

export function gridText(z, digits = 4) {
  return z.map((row) => row.map((v) => (v === null || v === undefined ? "" : fmt(v, digits))));
}

// Cells' numbers are printed in Plotly's default font; widths are measured in it (a minus
// sign is much wider than a digit, so counting characters clipped "−19" in a 25 px cell).
const CELL_FONT = '"Open Sans", verdana, arial, sans-serif';
const PROBE = 100; // measured at this size, scaled linearly
const TEXT_PAD = 4; // pixels of a cell kept clear around its number (the gap, and air)
const READABLE_PRESENTING = 14; // in presenter mode, numbers smaller than this are not printed
let measurer = null;

// The widest of `texts` in pixels at a font of PROBE pixels.
function widestAtProbe(texts) {
  if (!measurer) {
    measurer = document.createElement("canvas").getContext("2d");
    measurer.font = `${PROBE}px ${CELL_FONT}`;
  }
  let widest = 0;
  for (const text of new Set(texts)) if (text) widest = Math.max(widest, measurer.measureText(text).width);
  return widest;
}

const allTexts = (grids, digits) => grids.flatMap((grid) => gridText(grid, digits).flat());

// The smallest font a number is printed at: larger in presenter mode (the back row).
export const readableFont = () => (isPresenting() ? READABLE_PRESENTING : H.MIN_FONT);

// The font size at which the widest text of `grid` fits in a cell (Plotly does not shrink
// it), at most the cell's own cap.
export function fittedFont(cell, grid, digits = 4) {
  const widest = widestAtProbe(allTexts([grid], digits));
  const fitting = widest ? ((cell - TEXT_PAD) * PROBE) / widest : Infinity;
  return Math.max(9, Math.min(Math.round(Math.min(H.maxFont(), cell * 0.55)), Math.floor(fitting)));
}

// The font drawGrid prints with: the fitted one. Where that is too small to print, the
// estimate from the number of characters that grids were drawn with before (a number may
// then run a little over its cell's edge), unless `strict` (then it is not printed).
function fontSize(cell, grid, digits, strict) {
  const fitted = fittedFont(cell, grid, digits);
  if (strict || fitted >= H.MIN_FONT) return fitted;
  let longest = 1;
  for (const text of allTexts([grid], digits)) longest = Math.max(longest, text.length);
  return Math.max(9, Math.round(Math.min(H.maxFont(), cell * 0.55, (cell * 1.75) / longest)));
}

// The pixels per cell that print every number of `grids` whole at `font` pixels.
export function cellFor(grids, { digits = 4, font = readableFont() } = {}) {
  const widest = (widestAtProbe(allTexts(grids, digits)) * font) / PROBE;
  return Math.ceil(Math.max(font / 0.55, widest + TEXT_PAD));
}

// The most decimals (of `choices`, most first) at which `grid`'s numbers print at a
// readable font in cells of `cell` pixels; the last choice when none does.
export function readableDigits(cell, grid, choices = [3, 2, 1]) {
  return choices.find((d) => fittedFont(cell, grid, d) >= readableFont()) ?? choices[choices.length - 1];
}

export function blank(rows, cols) {
  return Array.from({ length: rows }, () => Array(cols).fill(null));
}

// The first `count` cells of `grid` in row-major order; the rest blank (null).
export function revealed(grid, count) {
  const cols = grid[0].length;
  return grid.map((row, i) => row.map((v, j) => (i * cols + j < count ? v : null)));
}

// A test for the padding ring of a rows × cols padded grid: padding [ph, pw] on every side.
export function paddingRing(rows, cols, [ph, pw]) {
  return (r, c) => r < ph || r >= rows - ph || c < pw || c >= cols - pw;
}

// One captioned figure per label in `container`, reusing those already there.
export function plotSlots(container, labels) {
  const slots = [...container.children];
  while (slots.length > labels.length) {
    const gone = slots.pop();
    window.Plotly.purge(gone.querySelector(".plot"));
    gone.remove();
  }
  while (slots.length < labels.length) {
    const slot = document.createElement("figure");
    slot.className = "plot-slot";
    const caption = document.createElement("figcaption");
    const plot = document.createElement("div");
    plot.className = "plot";
    slot.append(caption, plot);
    container.append(slot);
    slots.push(slot);
  }
  slots.forEach((slot, i) => {
    slot.querySelector("figcaption").textContent = labels[i];
    slot.dataset.index = String(i);
  });
  return slots.map((slot) => slot.querySelector(".plot"));
}

// Draw `grid` (rows of numbers or null) with its values; `special(r, c)` names the kind of a
// special cell (a key of SPECIAL) or returns null. Special cells are left out of the colour
// scale and drawn on top in their own style. Values are printed with up to `digits`
// decimals, in a font small enough for the longest text of `fits` (by default the grid; pass
// the final grid when cells will be revealed later with setGrid); not printed below
// `minFont` pixels (pass readableFont() where presenter mode must be read from afar), nor,
// if `strict`, where they would run over their cells' edges.
export function drawGrid(div, grid, {
  cell, scale, special = null, shapes = [], digits = 4, fits = grid,
  minFont = H.MIN_FONT, strict = false,
}) {
  const rows = grid.length;
  const cols = grid[0].length;
  const kinds = special ? grid.map((row, r) => row.map((_, c) => special(r, c))) : null;
  const z = kinds ? grid.map((row, r) => row.map((v, c) => (kinds[r][c] ? null : v))) : grid;
  const font = { size: fontSize(cell, fits, digits, strict) };
  const unread = font.size < minFont ? { texttemplate: "" } : {};
  const traces = [H.trace(z, gridText(z, digits), cell, scale, { textfont: font, ...unread })];
  if (kinds) {
    for (const [kind, style] of Object.entries(SPECIAL)) {
      if (!kinds.some((row) => row.includes(kind))) continue;
      const mask = kinds.map((row) => row.map((k) => (k === kind ? 0 : null)));
      const text = kinds.map((row) => row.map((k) => (k === kind ? style.text : "")));
      traces.push(H.trace(mask, text, cell,
        { colorscale: [[0, style.fill], [1, style.fill]], zmin: 0, zmax: 1 },
        { textfont: { color: style.ink, size: H.cellFont(cell) },
          hovertemplate: `row %{y}, column %{x}: ${style.hover}<extra></extra>` }));
    }
  }
  return H.draw(div, traces, H.layout(rows, cols, cell, { shapes }));
}

// One captioned grid per entry of `grids` in `container`; `options` as drawGrid's, or a
// function of the grid's index giving them. Returns the plot divs.
export function drawGrids(container, grids, labels, options) {
  const divs = plotSlots(container, labels);
  grids.forEach((grid, i) => drawGrid(divs[i], grid, typeof options === "function" ? options(i) : options));
  return divs;
}

// Kernel slices, one per div; a dilated kernel spread over its footprint, holes where it
// skips cells.
export function drawKernels(divs, kernels, { cell, scale, dilation: [dh, dw] = [1, 1] }) {
  const dilated = dh > 1 || dw > 1;
  kernels.forEach((kernel, i) => {
    const shown = dilated ? dilatedGrid(kernel, dh, dw) : kernel;
    const hole = (r, c) => (shown[r][c] === null ? "hole" : null);
    drawGrid(divs[i], shown, { cell, scale, special: dilated ? hole : null });
  });
}

// Outputs revealed up to step `index` of a trace that runs through output 0's cells, then
// output 1's, ...; `filled[k]` (the cells of output k shown so far) is kept up to date, so
// only the outputs that changed are redrawn.
export function revealOutputs(divs, grids, index, filled) {
  grids.forEach((grid, k) => {
    const cells = grid.length * grid[0].length;
    const count = Math.max(0, Math.min(cells, index - k * cells + 1));
    if (count === filled[k]) return;
    const z = revealed(grid, count);
    H.setGrid(divs[k], z, gridText(z));
    filled[k] = count;
  });
}

// `shapes` on divs[to] and none left on divs[from], the div they were on (-1: none).
// Returns `to`, to pass as `from` next time.
export function moveShapes(divs, from, to, shapes) {
  if (from >= 0 && from !== to) H.setShapes(divs[from], []);
  H.setShapes(divs[to], shapes);
  return to;
}

// The outline of a kh×kw window whose top-left tap is (r0, c0), and, when dilated, each tap.
export function windowShapes(r0, c0, kh, kw, dh = 1, dw = 1, options = {}) {
  const shapes = [H.rect(r0, c0, r0 + (kh - 1) * dh, c0 + (kw - 1) * dw, options)];
  if (dh > 1 || dw > 1) {
    for (let i = 0; i < kh; i += 1) {
      for (let j = 0; j < kw; j += 1) {
        const r = r0 + i * dh;
        const c = c0 + j * dw;
        shapes.push(H.rect(r, c, r, c, { color: H.COLORS.tap, width: 2, dash: "dot" }));
      }
    }
  }
  return shapes;
}

// A kernel spread out by its dilation: weights at the taps, holes (null) in between.
export function dilatedGrid(kernel, dh, dw) {
  const kh = kernel.length;
  const kw = kernel[0].length;
  const grid = blank((kh - 1) * dh + 1, (kw - 1) * dw + 1);
  kernel.forEach((row, i) => row.forEach((v, j) => { grid[i * dh][j * dw] = v; }));
  return grid;
}
