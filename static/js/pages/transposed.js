// The transposed-convolution page: two views of one computation, each with its own stepper.
// Left, every input cell stamps value × kernel into the output (running totals from the
// server). Right, the same output as an ordinary convolution of the zero-inserted, padded
// input with the kernel rotated 180°. Linked (the default), a step in one view moves the
// other to the same knowledge of the output. One request per change of settings. The URL, the
// panel, the grids and the steppers are the operation page's (lib/operation-page.js).

import { expressionLine, renderFormula } from "../draw/expression.js";
import { arrange, fitColumns } from "../draw/fit.js";
import {
  blank, drawGrids, drawKernels, gridText, moveShapes, plotSlots, revealOutputs, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { $, element, readPayload } from "../lib/dom.js";
import { factor, fmt, productsText } from "../lib/format.js";
import { readKernelSize, startOperationPage } from "../lib/operation-page.js";
import { bias, pair } from "../lib/settings.js";
import { asPair, asStack, clone, fitLength, resize4d, shapeOf } from "../lib/shapes.js";

const MAX_LINES = 9; // cells listed per stamp before "… and n more"
const NARROW = { minColumn: 80, op: 40 }; // a view's columns and signs (transposed.css)

const payload = readPayload();
const LIMITS = payload.limits;

let trace = null; // the answer drawn now
let page = null; // the operation page (its steppers, to link them)
let view = null; // what is drawn now, so a step redraws only what changed

// ---------------------------------------------------------------- the config

const as4d = (k) => (Array.isArray(k[0][0]) ? k : [[k]]);

// { input C×H×W, kernel C×O×kh×kw, bias [O], stride, padding, output_padding, dilation, preset }
function fromPreset(preset) {
  const kernel = as4d(clone(preset.kernel));
  const outputs = kernel[0].length;
  return {
    input: asStack(clone(preset.input)),
    kernel,
    bias: fitLength(Array.isArray(preset.bias) ? [...preset.bias] : [preset.bias], outputs),
    stride: asPair(preset.stride),
    padding: asPair(preset.padding),
    output_padding: asPair(preset.output_padding),
    dilation: asPair(preset.dilation),
    preset: preset.name,
  };
}

function sizes(config) {
  const [, O, kh, kw] = shapeOf(config.kernel);
  return { out_c: O, k_h: kh, k_w: kw };
}

function resizeKernel(config, controls) {
  const [O, kh, kw] = readKernelSize(controls, LIMITS);
  config.kernel = resize4d(config.kernel, [config.input.length, O, kh, kw]);
  config.bias = fitLength(config.bias, O);
}

function kernelEditor(config) {
  const C = config.input.length;
  const O = config.kernel[0].length;
  const slices = [];
  config.kernel.forEach((perIn, c) => perIn.forEach((values, o) => slices.push({
    label: C > 1 || O > 1 ? `Kernel, input ${c}, output ${o}` : "Kernel", values,
  })));
  return [{ id: "kernel-editor", slices }];
}

// ---------------------------------------------------------------- drawing

// Cells per column (input, kernel, output) of one view, so that the view fits its room.
function fitView(viewId, columns, room) {
  const figures = $(viewId).querySelector(".figures");
  const fit = fitColumns(columns, { ...room(figures), maxCell: H.maxCell(), ...NARROW });
  arrange(figures, fit);
  return fit.cells;
}

const figuresOf = (viewId) => $(viewId).querySelector(".figures");

function drawAll(data, config, room) {
  trace = data;
  const C = trace.input.length;
  const O = trace.kernel[0].length;
  const [, oh, ow] = trace.output_shape;
  const [ph, pw] = trace.padding;
  const [Hin, Win] = [trace.input[0].length, trace.input[0][0].length];
  const [canvasH, canvasW] = [oh + 2 * ph, ow + 2 * pw];
  const eq = trace.equivalent;
  const [, Hq, Wq] = shapeOf(eq.input);
  const stamp = fitView("stamp-view", [
    { grids: Array(C).fill([Hin, Win]) },
    { grids: Array(O).fill(trace.footprint), small: true },
    { grids: Array(O).fill([canvasH, canvasW]) },
  ], room);
  const conv = fitView("conv-view", [
    { grids: Array(C).fill([Hq, Wq]) },
    { grids: Array(C).fill(trace.footprint), small: true },
    { grids: Array(O).fill([oh, ow]) },
  ], room);
  const inScale = H.colorScale(trace.input);
  const outScale = H.colorScale(trace.output);
  const kScale = H.colorScale(trace.kernel.flat());
  const channel = (c, n, what) => (n > 1 ? `${what} ${c}` : "");

  const inputLabels = (grids, size) => grids.map((_, c) => channel(c, C, "channel") || size);
  const outputLabels = (size) => trace.output.map((_, o) => channel(o, O, "output channel") || size);

  const stampInput = drawGrids($("stamp-input"), trace.input, inputLabels(trace.input, `${Hin} × ${Win}`),
    { cell: stamp[0], scale: inScale });
  const cropped = (r, c) => (r < ph || r >= ph + oh || c < pw || c >= pw + ow ? "cropped" : null);
  const stampOutput = drawGrids($("stamp-output"), trace.output.map(() => blank(canvasH, canvasW)),
    outputLabels(`${oh} × ${ow}${ph || pw ? `, cropped from ${canvasH} × ${canvasW}` : ""}`),
    { cell: stamp[2], scale: outScale, special: cropped });

  const convInput = drawGrids($("conv-input"), eq.input, inputLabels(eq.input, `${Hq} × ${Wq}`),
    { cell: conv[0], scale: inScale, special: equivalentKinds() });
  const convOutput = drawGrids($("conv-output"), trace.output.map(() => blank(oh, ow)),
    outputLabels(`${oh} × ${ow}`), { cell: conv[2], scale: outScale });

  $("stamp-shape").textContent = `${O} × ${oh} × ${ow}`;
  view = {
    stampInput, stampOutput, convInput, convOutput, stampCell: stamp[1], convCell: conv[1],
    kScale, outScale, stampKernelFor: -1, convKernelFor: -1, filled: Array(O).fill(0), convOn: -1,
    inputOn: -1, link: linkOrder(),
  };
  drawFacts();
  reserveStampLines();
}

// The stamp's sum as tall as the largest stamp's, so that the stepper under it stays where
// it is (and on screen) from step to step.
function reserveStampLines() {
  const box = $("stamp-expression");
  box.style.minHeight = "";
  const largest = trace.steps.reduce((a, b) => (b.cells.length > a.cells.length ? b : a), trace.steps[0]);
  if (!largest) return;
  drawStampExpression(largest, null);
  box.style.minHeight = `${box.offsetHeight}px`;
}

// ---------------------------------------------------------------- the two views linked

// For each output cell in the convolution's order (channel, row, column): the last stamp
// that adds to it (-1: none, it is the bias); and, up to each cell, the latest of those.
function linkOrder() {
  const [O, oh, ow] = trace.output_shape;
  const last = Array(O * oh * ow).fill(-1);
  trace.steps.forEach((step, n) => step.cells.forEach(([o, r, c]) => { last[(o * oh + r) * ow + c] = n; }));
  let latest = -1;
  return { upTo: last.map((n) => (latest = Math.max(latest, n))) };
}

// The convolution's step once stamp `index` is done: the last cell whose value is then
// known (every stamp that adds to it, and to every cell before it, is done).
function convStepFor(index) {
  const known = view.link.upTo.filter((n) => n <= index).length;
  return Math.max(0, known - 1);
}

// The stamp after which the convolution's cell `index` (and every cell before it) is known.
const stampStepFor = (index) => Math.max(0, view.link.upTo[index]);

function follow(which, index) {
  if (!$("link-views").checked) return;
  const [stamps, convs] = page.steppers;
  if (which === "stamp") convs.go(convStepFor(index), false);
  else stamps.go(stampStepFor(index), false);
}

// What each cell of the equivalent convolution's input is: an input cell (null), an
// inserted zero, or padding.
function equivalentKinds() {
  const [top, , left] = trace.equivalent.padding;
  const [s0, s1] = trace.stride;
  const [Hz, Wz] = [trace.equivalent.zero_inserted[0].length, trace.equivalent.zero_inserted[0][0].length];
  return (r, c) => {
    const zr = r - top;
    const zc = c - left;
    if (zr < 0 || zr >= Hz || zc < 0 || zc >= Wz) return "padding";
    return zr % s0 || zc % s1 ? "inserted" : null;
  };
}

function drawStampKernel(c) {
  const O = trace.kernel[0].length;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const divs = plotSlots($("stamp-kernel"), trace.kernel[c].map((_, o) =>
    (O > 1 ? `to output channel ${o}` : `${kh} × ${kw}`)));
  drawKernels(divs, trace.kernel[c], { cell: view.stampCell, scale: view.kScale, dilation: trace.dilation });
  const C = trace.input.length;
  $("stamp-kernel-title").textContent = C > 1 ? `Kernel for input channel ${c}` : "Kernel";
  view.stampKernelFor = c;
}

// The running value of every output cell after `index` stamps (null: not reached yet).
function runningOutput(index) {
  const [, oh, ow] = trace.output_shape;
  const values = trace.output.map(() => blank(oh, ow));
  for (let n = 0; n <= index; n += 1) {
    const step = trace.steps[n];
    step.cells.forEach(([o, r, c], k) => { values[o][r][c] = step.totals[k]; });
  }
  if (index === trace.steps.length - 1) { // cells no stamp reaches keep the bias
    trace.output.forEach((grid, o) => grid.forEach((row, r) => row.forEach((v, c) => {
      if (values[o][r][c] === null) values[o][r][c] = v;
    })));
  }
  return values;
}

function drawStamp(index, _trace, byUser) {
  const step = trace.steps[index];
  const [c, i, j] = step.source;
  const [ph, pw] = trace.padding;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  if (c !== view.stampKernelFor) drawStampKernel(c);
  view.inputOn = moveShapes(view.stampInput, view.inputOn, c, [H.mark(i, j)]);
  const before = index ? runningOutput(index - 1) : null;
  const after = runningOutput(index);
  const shapes = windowShapes(step.origin[0] + ph, step.origin[1] + pw, kh, kw, dh, dw);
  after.forEach((grid, o) => {
    const canvas = padded(grid);
    H.setGrid(view.stampOutput[o], canvas, gridText(canvas));
    H.setShapes(view.stampOutput[o], shapes);
  });
  drawStampExpression(step, before);
  if (byUser) follow("stamp", index);
}

// An output grid placed inside the cropped ring of the canvas (ring cells: null).
function padded(grid) {
  const [ph, pw] = trace.padding;
  const canvas = blank(grid.length + 2 * ph, grid[0].length + 2 * pw);
  grid.forEach((row, r) => row.forEach((v, c) => { canvas[r + ph][c + pw] = v; }));
  return canvas;
}

function drawStampExpression(step, before) {
  const [c, i, j] = step.source;
  const [, O, kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  const lines = [];
  step.cells.forEach(([o, r, col], k) => {
    if (k >= MAX_LINES) return;
    const a = (r - step.origin[0]) / dh;
    const b = (col - step.origin[1]) / dw;
    const weight = trace.kernel[c][o][a][b];
    const start = before && before[o][r][col] !== null ? before[o][r][col] : trace.bias[o];
    const where = `${O > 1 ? `out ${o}, ` : ""}(${r}, ${col})`;
    lines.push(expressionLine(where, `${factor(start)} + ${factor(step.value)}×${factor(weight)}`,
      fmt(step.totals[k])));
  });
  if (step.cells.length > MAX_LINES) {
    lines.push(element("div", "expr-line expr-more", `… and ${step.cells.length - MAX_LINES} more cells`));
  }
  if (!step.cells.length) {
    lines.push(element("div", "expr-line expr-more",
      "This stamp lands entirely in the cropped border: it adds nothing."));
  }
  $("stamp-expression").replaceChildren(...lines);
  const C = trace.input.length;
  const reach = `${kh} × ${kw}${dh > 1 || dw > 1 ? ` (dilated to ${trace.footprint.join(" × ")})` : ""}`;
  $("stamp-position").textContent = `Input ${C > 1 ? `channel ${c}, ` : ""}row ${i}, column ${j} `
    + `= ${fmt(step.value)} stamps ${fmt(step.value)} × the ${reach} kernel with its top-left at `
    + `output row ${step.origin[0]}, column ${step.origin[1]}.`;
}

function drawConvKernel(o) {
  const eq = trace.equivalent;
  const C = trace.input.length;
  const [, , kh, kw] = shapeOf(eq.kernel);
  const divs = plotSlots($("conv-kernel"), eq.kernel[o].map((_, c) =>
    (C > 1 ? `slice for channel ${c}` : `${kh} × ${kw}`)));
  drawKernels(divs, eq.kernel[o], { cell: view.convCell, scale: view.kScale, dilation: eq.dilation });
  const O = trace.output.length;
  $("conv-kernel-title").textContent = `Kernel, rotated 180°${O > 1 ? `, output ${o}` : ""}`;
  view.convKernelFor = o;
}

function drawConv(index, _trace, byUser) {
  const eq = trace.equivalent;
  const [, oh, ow] = trace.output_shape;
  const [, , kh, kw] = shapeOf(eq.kernel);
  const [dh, dw] = eq.dilation;
  const o = Math.floor(index / (oh * ow));
  const i = Math.floor(index / ow) % oh;
  const j = index % ow;
  if (o !== view.convKernelFor) drawConvKernel(o);
  const shapes = windowShapes(i, j, kh, kw, dh, dw);
  view.convInput.forEach((div) => H.setShapes(div, shapes));
  revealOutputs(view.convOutput, trace.output, index, view.filled);
  view.convOn = moveShapes(view.convOutput, view.convOn, o, [H.mark(i, j)]);
  const terms = [];
  eq.input.forEach((grid, c) => {
    for (let a = 0; a < kh; a += 1) {
      for (let b = 0; b < kw; b += 1) terms.push([grid[i + a * dh][j + b * dw], eq.kernel[o][c][a][b]]);
    }
  });
  const text = `${productsText(terms)} + ${factor(trace.bias[o])} (bias)`;
  $("conv-expression").replaceChildren(expressionLine("", text, fmt(trace.output[o][i][j])));
  const O = trace.output.length;
  $("conv-position").textContent = `${O > 1 ? `Output channel ${o}, ` : "Output "}row ${i}, `
    + `column ${j} ← window at row ${i}, column ${j} of the padded, zero-inserted input`;
  if (byUser) follow("conv", index);
}

function drawFacts() {
  renderFormula($("formula"), trace.formula);
  const [top, bottom, left, right] = trace.equivalent.padding;
  const [s0, s1] = trace.stride;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  const [ph, pw] = trace.padding;
  const zeros = s0 === s1 ? `${s0 - 1}` : `${s0 - 1} between rows, ${s1 - 1} between columns`;
  const side = (n) => (n < 0 ? `crop ${-n}` : `${n}`);
  $("equivalent-fact").textContent = `Insert s − 1 zeros between neighbouring input cells `
    + `(${zeros}). Pad d·(k − 1) − p = ${dh}·(${kh} − 1) − ${ph}: ${side(top)} above, `
    + `${side(bottom)} below; ${dw}·(${kw} − 1) − ${pw}: ${side(left)} left, ${side(right)} `
    + "right (output padding adds to the bottom and right). Then convolve with stride 1 and "
    + "the kernel rotated 180°, its input and output channels swapped.";
  $("conv-hint").textContent = "Beige cells are the inserted zeros, grey cells the padding; "
    + "the kernel slides with stride 1.";
}

// ---------------------------------------------------------------- start

page = startOperationPage(payload, {
  endpoint: "/api/transposed-convolution",
  fromPreset,
  arrays: { input: asStack, kernel: as4d },
  settings: {
    bias: bias((config) => config.kernel[0].length),
    stride: pair(1, LIMITS.max_stride),
    padding: pair(0, LIMITS.max_padding),
    output_padding: pair(0, LIMITS.max_stride - 1),
    dilation: pair(1, LIMITS.max_dilation),
  },
  sizes,
  resize: resizeKernel,
  inputLabel: (c, C) => (C > 1 ? `Input, channel ${c}` : "Input"),
  editors: kernelEditor,
  random: { input: [0, 4], kernel: [-1, 2] },
  restartOnSettings: true,
  draw: drawAll,
  fits: () => ["stamp", "conv"].map((v) => [figuresOf(`${v}-view`), $(`${v}-stepper`)]),
  steppers: [
    { id: "stamp-stepper", count: (trace) => trace.steps.length, draw: drawStamp },
    { id: "conv-stepper", key: "cstep", count: (trace) => trace.output.flat(2).length, draw: drawConv },
  ],
});
