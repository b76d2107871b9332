// The transposed-convolution page: two views of one computation, each with its own stepper.
// Left, every input cell stamps value × kernel into the output (running totals from the
// server). Right, the same output as an ordinary convolution of the zero-inserted, padded
// input with the kernel rotated 180°. One request per change of settings.

import { createControls, createEditing, createLive, showSource } from "../lib/controls.js";
import { expressionLine, renderFormula } from "../draw/expression.js";
import { factor, fmt, parseNumber, productsText } from "../lib/format.js";
import { renderGrids } from "../widgets/grid-editor.js";
import {
  blank, dilatedGrid, drawGrid, gridText, plotSlots, revealed, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import {
  asPair, asStack, clone, fitLength, randomInt, resize, shapeOf,
} from "../lib/shapes.js";
import { createStepper } from "../widgets/stepper.js";
import {
  decodeArray, decodePair, encodeArray, encodePair, readParams, readStep, writeParams,
} from "../lib/urlstate.js";

const MAX_LINES = 9; // cells listed per stamp before "… and n more"

const payload = JSON.parse(document.getElementById("payload").textContent);
const LIMITS = payload.limits;
const PRESETS = Object.fromEntries(payload.presets.map((p) => [p.name, p]));
const $ = (id) => document.getElementById(id);
const stage = $("stage");
const controls = createControls($("controls"));
const field = controls.field;
const sourceBoxes = { note: $("note"), noteText: $("note-text"), source: $("source") };

// { input C×H×W, kernel C×O×kh×kw, bias [O], stride, padding, output_padding, dilation, preset }
let config = null;
let trace = null;
let view = null;
const stamper = createStepper($("stamp-stepper"), { onStep: drawStamp });
const convolver = createStepper($("conv-stepper"), { onStep: drawConv });
const run = createLive({
  url: "/api/transposed-convolution",
  stage,
  errorBox: $("error"),
  onResult(data, steps) {
    trace = data;
    drawAll();
    stamper.setCount(trace.steps.length, steps[0]);
    convolver.setCount(trace.output.flat(2).length, steps[1]);
  },
});

// ---------------------------------------------------------------- settings

const as4d = (k) => (Array.isArray(k[0][0]) ? k : [[k]]);

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

function fromURL() {
  const q = readParams();
  const base = fromPreset(PRESETS[q.get("preset")] || PRESETS[payload.default_preset]);
  const input = q.has("input") ? decodeArray(q.get("input")) : null;
  const kernel = q.has("kernel") ? decodeArray(q.get("kernel")) : null;
  if (input && kernel) {
    base.input = asStack(input);
    base.kernel = as4d(kernel);
    if (!q.has("preset")) base.preset = null;
  }
  const bias = (q.get("bias") || "").split(",").map(parseNumber);
  if (q.has("bias") && bias.every(Number.isFinite)) base.bias = bias;
  base.bias = fitLength(base.bias, base.kernel[0].length);
  for (const name of ["stride", "padding", "output_padding", "dilation"]) {
    base[name] = decodePair(q.get(name), base[name]);
  }
  return { config: base, steps: [readStep(q), readStep(q, "cstep")] };
}

function saveURL() {
  writeParams({
    preset: config.preset || null,
    input: encodeArray(config.input),
    kernel: encodeArray(config.kernel),
    bias: config.bias.join(","),
    stride: encodePair(config.stride),
    padding: encodePair(config.padding),
    output_padding: encodePair(config.output_padding),
    dilation: encodePair(config.dilation),
    step: String(stamper.index + 1),
    cstep: String(convolver.index + 1),
  });
}

// ---------------------------------------------------------------- controls

function showConfig() {
  const [C, Hh, W] = shapeOf(config.input);
  const [, O, kh, kw] = shapeOf(config.kernel);
  $("preset").value = config.preset || "";
  controls.set({ in_c: C, in_h: Hh, in_w: W, out_c: O, k_h: kh, k_w: kw });
  for (const name of ["stride", "padding", "output_padding", "dilation"]) {
    controls.setPair(name, config[name]);
  }
  field("bias").value = config.bias.map((b) => fmt(b, 6)).join(", ");
  showSource(config.preset ? PRESETS[config.preset] : null, sourceBoxes);
  renderEditors();
}

function renderEditors() {
  const C = config.input.length;
  const O = config.kernel[0].length;
  renderGrids($("input-editor"), config.input.map((values, c) => ({
    label: C > 1 ? `Input, channel ${c}` : "Input", values,
  })), (c, r, col, value) => { config.input[c][r][col] = value; edited(); });
  const slices = [];
  config.kernel.forEach((perIn, c) => perIn.forEach((values, o) => slices.push({
    label: C > 1 || O > 1 ? `Kernel, input ${c}, output ${o}` : "Kernel", values, c, o,
  })));
  renderGrids($("kernel-editor"), slices, (s, r, col, value) => {
    config.kernel[slices[s].c][slices[s].o][r][col] = value;
    edited();
  });
}

const edited = createEditing({
  presetSelect: $("preset"),
  boxes: sourceBoxes,
  forget: () => { config.preset = null; },
  recompute: (keepStep) => compute(keepStep ? [stamper.index, convolver.index] : [0, 0]),
});

function onShapeChange() {
  const C = controls.int("in_c", 1, LIMITS.max_channels);
  const Hh = controls.int("in_h", 1, LIMITS.max_size);
  const W = controls.int("in_w", 1, LIMITS.max_size);
  const O = controls.int("out_c", 1, LIMITS.max_out_channels);
  const kh = controls.int("k_h", 1, LIMITS.max_kernel);
  const kw = controls.int("k_w", 1, LIMITS.max_kernel);
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  config.kernel = Array.from({ length: C }, (_, c) => Array.from({ length: O }, (_, o) =>
    resize((config.kernel[c] && config.kernel[c][o]) || [], kh, kw)));
  config.bias = fitLength(config.bias, O);
  renderEditors();
  edited({ now: true, keepStep: false });
}

function onLayerChange() {
  config.stride = controls.pair("stride", 1, LIMITS.max_stride);
  config.padding = controls.pair("padding", 0, LIMITS.max_padding);
  config.output_padding = controls.pair("output_padding", 0, LIMITS.max_stride - 1);
  config.dilation = controls.pair("dilation", 1, LIMITS.max_dilation);
  const bias = field("bias").value.split(",").map(parseNumber);
  const ok = bias.every(Number.isFinite);
  field("bias").classList.toggle("invalid", !ok);
  if (ok) config.bias = fitLength(bias, config.kernel[0].length);
  edited({ now: true, keepStep: false });
}

function randomise() {
  config.input = config.input.map((g) => g.map((row) => row.map(() => randomInt(0, 4))));
  config.kernel = config.kernel.map((p) => p.map((g) => g.map((row) =>
    row.map(() => randomInt(-1, 2)))));
  showConfig();
  edited({ now: true, keepStep: false });
}

function bindControls() {
  $("preset").addEventListener("change", (e) => {
    if (!PRESETS[e.target.value]) return;
    config = fromPreset(PRESETS[e.target.value]);
    showConfig();
    compute([0, 0]);
  });
  $("random").addEventListener("click", randomise);
  controls.onChange(["in_c", "in_h", "in_w", "out_c", "k_h", "k_w"], onShapeChange);
  controls.onChange(["stride_h", "stride_w", "padding_h", "padding_w", "output_padding_h",
    "output_padding_w", "dilation_h", "dilation_w", "bias"], onLayerChange);
}

function compute(steps) {
  const { input, kernel, bias, stride, padding, dilation } = config;
  return run({ input, kernel, bias, stride, padding, output_padding: config.output_padding,
    dilation }, steps);
}

// ---------------------------------------------------------------- drawing

// Cells per grid so that each row of a view's grids fits its width: `rows` lists, per row
// of figures, the columns of each grid in it.
function fitCell(viewId, rows, tallest) {
  const width = $(viewId).clientWidth - 150; // padding, operator signs and gaps
  const widest = Math.max(...rows.map((cols) => cols.reduce((sum, n) => sum + n, 0)));
  const fit = Math.floor(Math.min(width / widest, 420 / tallest));
  return Math.max(8, Math.min(56, fit));
}

function drawAll() {
  const C = trace.input.length;
  const O = trace.kernel[0].length;
  const [, oh, ow] = trace.output_shape;
  const [ph, pw] = trace.padding;
  const [Hin, Win] = [trace.input[0].length, trace.input[0][0].length];
  const [canvasH, canvasW] = [oh + 2 * ph, ow + 2 * pw];
  const eq = trace.equivalent;
  const [, Hq, Wq] = shapeOf(eq.input);
  const [fh, fw] = trace.footprint;
  const titled = (cols) => Math.max(cols, 4); // a kernel's column is as wide as its title
  const stampCell = fitCell("stamp-view", [[Win, titled(fw)], [canvasW]],
    Math.max(Hin * C, fh * O, canvasH * O));
  const convCell = fitCell("conv-view", [[Wq, titled(fw)], [ow]], Math.max(Hq * C, fh * C, oh * O));
  const inScale = H.colorScale(trace.input);
  const outScale = H.colorScale(trace.output);
  const kScale = H.colorScale(trace.kernel.flat());
  const channel = (c, n, what) => (n > 1 ? `${what} ${c}` : "");

  const stampInput = plotSlots($("stamp-input"), trace.input.map((_, c) =>
    channel(c, C, "channel") || `${Hin} × ${Win}`));
  trace.input.forEach((grid, c) => drawGrid(stampInput[c], grid, { cell: stampCell, scale: inScale }));
  const cropped = (r, c) => (r < ph || r >= ph + oh || c < pw || c >= pw + ow ? "cropped" : null);
  const stampOutput = plotSlots($("stamp-output"), trace.output.map((_, o) =>
    channel(o, O, "output channel") || `${oh} × ${ow}${ph || pw ? `, cropped from ${canvasH} × ${canvasW}` : ""}`));
  stampOutput.forEach((div) => drawGrid(div, blank(canvasH, canvasW),
    { cell: stampCell, scale: outScale, special: cropped }));

  const convInput = plotSlots($("conv-input"), eq.input.map((_, c) =>
    channel(c, C, "channel") || `${Hq} × ${Wq}`));
  const kind = equivalentKinds();
  eq.input.forEach((grid, c) => drawGrid(convInput[c], grid,
    { cell: convCell, scale: inScale, special: kind }));
  const convOutput = plotSlots($("conv-output"), trace.output.map((_, o) =>
    channel(o, O, "output channel") || `${oh} × ${ow}`));
  convOutput.forEach((div) => drawGrid(div, blank(oh, ow), { cell: convCell, scale: outScale }));

  $("stamp-shape").textContent = `${O} × ${oh} × ${ow}`;
  view = {
    stampInput, stampOutput, convInput, convOutput, stampCell, convCell, kScale, outScale,
    stampKernelFor: -1, convKernelFor: -1, filled: Array(O).fill(0), convOn: -1, inputOn: -1,
  };
  drawFacts();
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
  const [dh, dw] = trace.dilation;
  const dilated = dh > 1 || dw > 1;
  const divs = plotSlots($("stamp-kernel"), trace.kernel[c].map((_, o) =>
    (O > 1 ? `to output channel ${o}` : `${kh} × ${kw}`)));
  trace.kernel[c].forEach((grid, o) => {
    const shown = dilated ? dilatedGrid(grid, dh, dw) : grid;
    drawGrid(divs[o], shown, { cell: view.stampCell, scale: view.kScale,
      special: dilated ? (r, col) => (shown[r][col] === null ? "hole" : null) : null });
  });
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

function drawStamp(index) {
  const step = trace.steps[index];
  const [c, i, j] = step.source;
  const [ph, pw] = trace.padding;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  if (c !== view.stampKernelFor) drawStampKernel(c);
  if (view.inputOn >= 0 && view.inputOn !== c) H.setShapes(view.stampInput[view.inputOn], []);
  H.setShapes(view.stampInput[c], [H.rect(i, j, i, j, { color: H.COLORS.current, width: 4 })]);
  view.inputOn = c;
  const before = index ? runningOutput(index - 1) : null;
  const after = runningOutput(index);
  const shapes = windowShapes(step.origin[0] + ph, step.origin[1] + pw, kh, kw, dh, dw);
  after.forEach((grid, o) => {
    const canvas = padded(grid);
    H.setGrid(view.stampOutput[o], canvas, gridText(canvas));
    H.setShapes(view.stampOutput[o], shapes);
  });
  drawStampExpression(step, before);
  saveURL();
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
    const more = document.createElement("div");
    more.className = "expr-line expr-more";
    more.textContent = `… and ${step.cells.length - MAX_LINES} more cells`;
    lines.push(more);
  }
  if (!step.cells.length) {
    const none = document.createElement("div");
    none.className = "expr-line expr-more";
    none.textContent = "This stamp lands entirely in the cropped border: it adds nothing.";
    lines.push(none);
  }
  $("stamp-expression").replaceChildren(...lines);
  const C = trace.input.length;
  const reach = `${kh} × ${kw}${dh > 1 || dw > 1 ? ` (dilated to ${trace.footprint.join(" × ")})` : ""}`;
  $("stamp-position").textContent = `Input ${C > 1 ? `channel ${c}, ` : ""}row ${i}, column ${j} `
    + `= ${fmt(step.value)} stamps ${fmt(step.value)} × the ${reach} kernel with its top-left at `
    + `output row ${step.origin[0]}, column ${step.origin[1]}. Each cell: its value so far `
    + `(starting at the bias) + input × weight.`;
}

function drawConvKernel(o) {
  const eq = trace.equivalent;
  const C = trace.input.length;
  const [dh, dw] = eq.dilation;
  const dilated = dh > 1 || dw > 1;
  const [, , kh, kw] = shapeOf(eq.kernel);
  const divs = plotSlots($("conv-kernel"), eq.kernel[o].map((_, c) =>
    (C > 1 ? `slice for channel ${c}` : `${kh} × ${kw}`)));
  eq.kernel[o].forEach((grid, c) => {
    const shown = dilated ? dilatedGrid(grid, dh, dw) : grid;
    drawGrid(divs[c], shown, { cell: view.convCell, scale: view.kScale,
      special: dilated ? (r, col) => (shown[r][col] === null ? "hole" : null) : null });
  });
  const O = trace.output.length;
  $("conv-kernel-title").textContent = `Kernel, rotated 180°${O > 1 ? `, output ${o}` : ""}`;
  view.convKernelFor = o;
}

function drawConv(index) {
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
  trace.output.forEach((grid, k) => {
    const filled = Math.max(0, Math.min(oh * ow, index - k * oh * ow + 1));
    if (filled !== view.filled[k]) {
      const z = revealed(grid, filled);
      H.setGrid(view.convOutput[k], z, gridText(z));
      view.filled[k] = filled;
    }
  });
  if (view.convOn >= 0 && view.convOn !== o) H.setShapes(view.convOutput[view.convOn], []);
  H.setShapes(view.convOutput[o], [H.rect(i, j, i, j, { color: H.COLORS.current, width: 4 })]);
  view.convOn = o;
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
  saveURL();
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

bindControls();
const start = fromURL();
config = start.config;
showConfig();
compute(start.steps);
