// The 1×1-convolution page: step from pixel to pixel; at each, the channel vector x is
// multiplied by the mixing matrix W and the bias added, giving that pixel's output channels.
// Computed by POST /api/convolution with a C_out×C_in×1×1 kernel; each pixel's expression is
// read from that trace's steps (one per output channel).

import { createControls, createEditing, createLive, showSource } from "../lib/controls.js";
import { expressionLine } from "../draw/expression.js";
import { factor, fmt, parseNumber, productsText } from "../lib/format.js";
import { renderGrids } from "../widgets/grid-editor.js";
import { blank, drawGrid, gridText, plotSlots, revealed } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { clone, fitLength, randomInt, resize, shapeOf } from "../lib/shapes.js";
import { createStepper } from "../widgets/stepper.js";
import { decodeArray, encodeArray, readParams, readStep, writeParams } from "../lib/urlstate.js";

const RGB = ["R", "G", "B"];
const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";

const payload = JSON.parse(document.getElementById("payload").textContent);
const LIMITS = payload.limits;
const PRESETS = Object.fromEntries(payload.presets.map((p) => [p.name, p]));
const $ = (id) => document.getElementById(id);
const controls = createControls($("controls"));
const sourceBoxes = { note: $("note"), noteText: $("note-text"), source: $("source") };

let config = null; // { input C×H×W, weights O×C, bias [O], preset }
let trace = null;
let view = null;
const stepper = createStepper($("stepper"), { onStep: drawStep });
const run = createLive({
  url: "/api/convolution",
  stage: $("stage"),
  errorBox: $("error"),
  onResult(data, step) {
    trace = data;
    drawAll();
    const [, oh, ow] = trace.output_shape;
    stepper.setCount(oh * ow, step);
  },
});

const sub = (n) => String(n).split("").map((d) => SUBSCRIPTS[Number(d)]).join("");
const channelName = (c, count) => (count === 3 ? `${RGB[c]} (channel ${c})` : `channel ${c}`);

// ---------------------------------------------------------------- settings

function fromPreset(preset) {
  return {
    input: clone(preset.input), weights: clone(preset.weights), bias: [...preset.bias],
    preset: preset.name,
  };
}

function fromURL() {
  const q = readParams();
  const base = fromPreset(PRESETS[q.get("preset")] || PRESETS[payload.default_preset]);
  const input = q.has("input") ? decodeArray(q.get("input")) : null;
  const weights = q.has("weights") ? decodeArray(q.get("weights")) : null;
  if (input && weights && shapeOf(input).length === 3 && shapeOf(weights).length === 2) {
    Object.assign(base, { input, weights });
    if (!q.has("preset")) base.preset = null;
  }
  const bias = (q.get("bias") || "").split(",").map(parseNumber);
  base.bias = fitLength(q.has("bias") && bias.every(Number.isFinite) ? bias : base.bias,
    base.weights.length);
  return { config: base, step: readStep(q) };
}

function saveURL(index) {
  writeParams({
    preset: config.preset || null,
    input: encodeArray(config.input),
    weights: encodeArray(config.weights),
    bias: config.bias.join(","),
    step: String(index + 1),
  });
}

// ---------------------------------------------------------------- controls

function showConfig() {
  const [C, Hh, W] = shapeOf(config.input);
  $("preset").value = config.preset || "";
  controls.set({ in_c: C, in_h: Hh, in_w: W, out_c: config.weights.length });
  controls.field("bias").value = config.bias.map((b) => fmt(b, 6)).join(", ");
  showSource(config.preset ? PRESETS[config.preset] : null, sourceBoxes);
  renderEditors();
}

function renderEditors() {
  const C = config.input.length;
  renderGrids($("input-editor"), config.input.map((values, c) => ({
    label: `Input, ${channelName(c, C)}`, values,
  })), (c, r, col, value) => { config.input[c][r][col] = value; edited(); });
  renderGrids($("matrix-editor"), [{ label: "W", values: config.weights }], (_, o, c, value) => {
    config.weights[o][c] = value;
    edited();
  });
}

const edited = createEditing({
  presetSelect: $("preset"),
  boxes: sourceBoxes,
  forget: () => { config.preset = null; },
  recompute: (keepStep) => compute(keepStep ? stepper.index : 0),
});

function onShapeChange() {
  const C = controls.int("in_c", 1, LIMITS.max_channels);
  const Hh = controls.int("in_h", 1, LIMITS.max_size);
  const W = controls.int("in_w", 1, LIMITS.max_size);
  const O = controls.int("out_c", 1, LIMITS.max_out_channels);
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  config.weights = resize(config.weights, O, C);
  config.bias = fitLength(config.bias, O);
  controls.field("bias").value = config.bias.map((b) => fmt(b, 6)).join(", ");
  renderEditors();
  edited({ now: true, keepStep: false });
}

function onBiasChange() {
  const bias = controls.field("bias").value.split(",").map(parseNumber);
  const ok = bias.every(Number.isFinite);
  controls.field("bias").classList.toggle("invalid", !ok);
  if (!ok) return;
  config.bias = fitLength(bias, config.weights.length);
  edited({ now: true });
}

function randomise() {
  config.input = config.input.map((g) => g.map((row) => row.map(() => randomInt(0, 9))));
  config.weights = config.weights.map((row) => row.map(() => randomInt(-2, 2)));
  showConfig();
  edited({ now: true, keepStep: false });
}

function bindControls() {
  $("preset").addEventListener("change", (e) => {
    if (!PRESETS[e.target.value]) return;
    config = fromPreset(PRESETS[e.target.value]);
    showConfig();
    compute(0);
  });
  $("random").addEventListener("click", randomise);
  controls.onChange(["in_c", "in_h", "in_w", "out_c"], onShapeChange);
  controls.onChange(["bias"], onBiasChange);
}

function compute(step) {
  const kernel = config.weights.map((row) => row.map((w) => [[w]])); // O×C×1×1
  return run({ input: config.input, kernel, bias: config.bias }, step);
}

// ---------------------------------------------------------------- drawing

const DIGITS = 2; // decimals printed in the output cells (the expression shows them all)

// Channels side by side, as large as the stage allows.
function channelCell(grids, rows, cols) {
  const width = $("stage").clientWidth - 40;
  const fit = Math.floor((width / grids - 16) / cols);
  return Math.max(8, Math.min(56, fit, Math.floor(360 / rows)));
}

function drawAll() {
  const C = trace.padded_input.length;
  const O = trace.output.length;
  const [, Hh, W] = shapeOf(trace.padded_input);
  const inCell = channelCell(C, Hh, W);
  const outCell = channelCell(O, Hh, W);
  const inScale = H.colorScale(trace.padded_input);
  const outScale = H.colorScale(trace.output);
  const inputDivs = plotSlots($("input-plots"), trace.padded_input.map((_, c) => channelName(c, C)));
  trace.padded_input.forEach((grid, c) => drawGrid(inputDivs[c], grid, { cell: inCell, scale: inScale }));
  const outputDivs = plotSlots($("output-plots"), trace.output.map((_, o) => `channel ${o}`));
  outputDivs.forEach((div, o) => drawGrid(div, blank(Hh, W),
    { cell: outCell, scale: outScale, digits: DIGITS, fits: trace.output[o] }));
  const matrix = trace.kernel.map((perOut) => perOut.map((k) => k[0][0])); // O×C
  const small = Math.min(72, H.cellSize(Math.max(O, C), Math.max(O, C), 240));
  drawGrid($("matrix-plot"), matrix, { cell: small, scale: H.colorScale([matrix]) });
  $("input-shape").textContent = `${C} × ${Hh} × ${W}`;
  $("output-shape").textContent = `${O} × ${Hh} × ${W}`;
  $("params-conv").textContent = trace.parameters.conv_expression;
  $("params-dense").textContent = trace.parameters.dense_expression;
  view = { inputDivs, outputDivs, small, inScale, outScale };
}

function drawStep(index) {
  const [, Hh, W] = shapeOf(trace.padded_input);
  const L = Hh * W;
  const r = Math.floor(index / W);
  const c = index % W;
  const steps = trace.output.map((_, o) => trace.steps[o * L + index]);
  const mark = [H.rect(r, c, r, c, { color: H.COLORS.current, width: 4 })];
  view.inputDivs.forEach((div) => H.setShapes(div, mark));
  trace.output.forEach((grid, o) => {
    const z = revealed(grid, index + 1);
    H.setGrid(view.outputDivs[o], z, gridText(z, DIGITS));
    H.setShapes(view.outputDivs[o], mark);
  });
  const pixel = steps[0].terms.map(([x]) => [x]); // C×1
  const result = steps.map((step) => [step.value]); // O×1
  drawGrid($("pixel-plot"), pixel, { cell: view.small, scale: view.inScale });
  drawGrid($("result-plot"), result, { cell: view.small, scale: view.outScale, digits: DIGITS });
  $("expression").replaceChildren(...steps.map((step, o) => expressionLine(`y${sub(o)}`,
    `${productsText(step.terms.map(([x, w]) => [w, x]))} + ${factor(step.bias)} (bias)`,
    fmt(step.value))));
  $("position").textContent = `Pixel row ${r}, column ${c}: its ${trace.padded_input.length} `
    + "channel values x, times each row of W, plus the bias";
  saveURL(index);
}

// ---------------------------------------------------------------- start

bindControls();
const start = fromURL();
config = start.config;
showConfig();
compute(start.step);
