// The convolution playground: edit an input and a kernel, then step the kernel across the
// padded input while every multiply-and-sum is written out. One request per change of
// settings; stepping is drawn from the trace already received.

import { createControls, createEditing, createLive, showSource } from "../lib/controls.js";
import { expressionLine, renderFormula } from "../draw/expression.js";
import { factor, fmt, parseNumber, productsText, sumText } from "../lib/format.js";
import { renderGrids } from "../widgets/grid-editor.js";
import {
  blank, dilatedGrid, drawGrid, gridText, paddingRing, plotSlots, revealed, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import {
  asPair, asStack, clone, fitLength, randomInt, resize, shapeOf,
} from "../lib/shapes.js";
import { createStepper } from "../widgets/stepper.js";
import {
  decodeArray, decodePair, encodeArray, encodePair, readParams, readStep, writeParams,
} from "../lib/urlstate.js";

const RGB = ["R", "G", "B"];

const payload = JSON.parse(document.getElementById("payload").textContent);
const LIMITS = payload.limits;
const PRESETS = Object.fromEntries(payload.presets.map((p) => [p.name, p]));
const KERNELS = Object.fromEntries(payload.kernels.map((k) => [k.name, k]));
const $ = (id) => document.getElementById(id);
const stage = $("stage");
const controls = createControls($("controls"));
const field = controls.field;

let config = null; // { input C×H×W, kernel O×C×kh×kw, bias [O], stride, padding, dilation, flip, preset }
let trace = null;
let view = null; // what is drawn now, so a step redraws only what changed
const stepper = createStepper($("stepper"), { onStep: drawStep });
const run = createLive({
  url: "/api/convolution",
  stage,
  errorBox: $("error"),
  onResult(data, step) {
    trace = data;
    drawAll();
    stepper.setCount(trace.steps.length, step);
  },
});

// ---------------------------------------------------------------- settings

function as4d(k) {
  const depth = shapeOf(k).length;
  if (depth === 2) return [[k]];
  return depth === 3 ? [k] : k;
}

function fromPreset(preset) {
  const kernel = as4d(clone(preset.kernel));
  const bias = Array.isArray(preset.bias) ? [...preset.bias] : Array(kernel.length).fill(preset.bias);
  return {
    input: asStack(clone(preset.input)),
    kernel,
    bias,
    stride: asPair(preset.stride),
    padding: asPair(preset.padding),
    dilation: asPair(preset.dilation),
    flip: preset.flip,
    preset: preset.name,
  };
}

function fromURL() {
  const q = readParams();
  const named = PRESETS[q.get("preset")] || PRESETS[payload.default_preset];
  const base = fromPreset(named);
  const input = q.has("input") ? decodeArray(q.get("input")) : null;
  const kernel = q.has("kernel") ? decodeArray(q.get("kernel")) : null;
  if (input && kernel) {
    base.input = asStack(input);
    base.kernel = as4d(kernel);
  }
  const bias = (q.get("bias") || "").split(",").map(parseNumber);
  base.bias = fitLength(bias.every(Number.isFinite) && q.has("bias") ? bias : base.bias,
                        base.kernel.length);
  base.stride = decodePair(q.get("stride"), base.stride);
  base.padding = decodePair(q.get("padding"), base.padding);
  base.dilation = decodePair(q.get("dilation"), base.dilation);
  if (q.has("flip")) base.flip = q.get("flip") === "1";
  if (!q.has("preset")) base.preset = q.has("input") ? null : base.preset;
  return { config: base, step: readStep(q) };
}

function saveURL(index) {
  writeParams({
    preset: config.preset || null,
    input: encodeArray(config.input),
    kernel: encodeArray(config.kernel),
    bias: config.bias.join(","),
    stride: encodePair(config.stride),
    padding: encodePair(config.padding),
    dilation: encodePair(config.dilation),
    flip: config.flip ? "1" : "0",
    step: String(index + 1),
  });
}

// ---------------------------------------------------------------- controls

function showConfig() {
  const [C, Hh, W] = shapeOf(config.input);
  const [O, , kh, kw] = shapeOf(config.kernel);
  $("preset").value = config.preset || "";
  const values = {
    in_c: C, in_h: Hh, in_w: W, out_c: O, k_h: kh, k_w: kw,
    padding_h: config.padding[0], padding_w: config.padding[1],
    stride_h: config.stride[0], stride_w: config.stride[1],
    dilation_h: config.dilation[0], dilation_w: config.dilation[1],
  };
  controls.set(values);
  field("flip").checked = config.flip;
  field("bias").value = config.bias.map((b) => fmt(b, 6)).join(", ");
  showSource(config.preset ? PRESETS[config.preset] : null, sourceBoxes);
  renderEditors();
}

const sourceBoxes = { note: $("note"), noteText: $("note-text"), source: $("source") };

function channelLabel(c, count) {
  return count === 3 ? `channel ${c} (${RGB[c]})` : `channel ${c}`;
}

function renderEditors() {
  const C = config.input.length;
  renderGrids($("input-editor"), config.input.map((values, c) => ({
    label: C > 1 ? `Input, ${channelLabel(c, C)}` : "Input", values,
  })), (c, r, col, value) => { config.input[c][r][col] = value; edited(); });
  const slices = [];
  config.kernel.forEach((perOut, o) => perOut.forEach((values, c) => slices.push({
    label: config.kernel.length > 1 || C > 1 ? `Kernel, output ${o}, input ${c}` : "Kernel", values, o, c,
  })));
  renderGrids($("kernel-editor"), slices, (s, r, col, value) => {
    config.kernel[slices[s].o][slices[s].c][r][col] = value;
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
  const kh = controls.int("k_h", 1, LIMITS.max_kernel);
  const kw = controls.int("k_w", 1, LIMITS.max_kernel);
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  config.kernel = Array.from({ length: O }, (_, o) => Array.from({ length: C }, (_, c) =>
    resize((config.kernel[o] && config.kernel[o][c]) || [], kh, kw)));
  config.bias = fitLength(config.bias, O);
  renderEditors();
  edited({ now: true, keepStep: false });
}

function onLayerChange() {
  config.padding = controls.pair("padding", 0, LIMITS.max_padding);
  config.stride = controls.pair("stride", 1, LIMITS.max_stride);
  config.dilation = controls.pair("dilation", 1, LIMITS.max_dilation);
  config.flip = field("flip").checked;
  const bias = field("bias").value.split(",").map(parseNumber);
  const ok = bias.every(Number.isFinite);
  field("bias").classList.toggle("invalid", !ok);
  if (ok) config.bias = fitLength(bias, config.kernel.length);
  edited({ now: true });
}

function useClassicKernel(name) {
  const weights = KERNELS[name].weights;
  config.kernel = config.kernel.map((perOut) => perOut.map(() => clone(weights)));
  showConfig();
  edited({ now: true });
}

function randomise() {
  config.input = config.input.map((g) => g.map((row) => row.map(() => randomInt(0, 9))));
  config.kernel = config.kernel.map((p) => p.map((g) => g.map((row) =>
    row.map(() => randomInt(-2, 2)))));
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
  $("classic").addEventListener("change", (e) => {
    if (KERNELS[e.target.value]) useClassicKernel(e.target.value);
    e.target.value = "";
  });
  $("random").addEventListener("click", randomise);
  controls.onChange(["in_c", "in_h", "in_w", "out_c", "k_h", "k_w"], onShapeChange);
  controls.onChange(["padding_h", "padding_w", "stride_h", "stride_w", "dilation_h",
    "dilation_w", "flip", "bias"], onLayerChange);
}

// ---------------------------------------------------------------- computing

function body() {
  return {
    input: config.input, kernel: config.kernel, bias: config.bias, stride: config.stride,
    padding: config.padding, dilation: config.dilation, flip: config.flip,
  };
}

function compute(step) {
  return run(body(), step);
}

// ---------------------------------------------------------------- drawing

function drawAll() {
  const C = trace.padded_input.length;
  const O = trace.output.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const cellIn = H.cellSize(Hp, Wp, C > 1 ? 250 : 380);
  const inScale = H.colorScale(config.input);
  const ring = paddingRing(Hp, Wp, trace.padding);
  const isPad = (r, c) => (ring(r, c) ? "padding" : null);
  const inputDivs = plotSlots($("input-plots"), trace.padded_input.map((_, c) =>
    (C > 1 ? channelLabel(c, C) : `${Hp} × ${Wp}`)));
  trace.padded_input.forEach((grid, c) => {
    drawGrid(inputDivs[c], grid, { cell: cellIn, scale: inScale, special: isPad });
  });
  const outCell = H.cellSize(oh, ow, O > 1 ? 220 : 320);
  const outScale = H.colorScale(trace.output);
  const outputDivs = plotSlots($("output-plots"), trace.output.map((_, o) =>
    (O > 1 ? `feature map ${o}` : `${oh} × ${ow}`)));
  outputDivs.forEach((div) => drawGrid(div, blank(oh, ow), { cell: outCell, scale: outScale }));
  $("output-shape").textContent = `${O} × ${oh} × ${ow}`;
  view = { inputDivs, outputDivs, filled: Array(O).fill(0), kernelFor: -1, currentOn: -1 };
  drawFacts();
}

// The kernel for feature map o, one slice per input channel; a dilated kernel is drawn
// spread over its footprint, with holes where it skips cells.
function drawKernels(o) {
  const C = trace.padded_input.length;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  const [fh, fw] = trace.footprint;
  const dilated = dh > 1 || dw > 1;
  const cell = H.cellSize(fh, fw, C > 1 ? 150 : 200);
  const scale = H.colorScale(trace.kernel.flat());
  const size = dilated ? `${kh} × ${kw} weights over ${fh} × ${fw}` : `${kh} × ${kw}`;
  const divs = plotSlots($("kernel-plots"), trace.kernel[o].map((_, c) =>
    (C > 1 ? `slice for ${channelLabel(c, C)}${dilated ? `, ${size}` : ""}` : size)));
  trace.kernel[o].forEach((grid, c) => {
    const shown = dilated ? dilatedGrid(grid, dh, dw) : grid;
    const hole = (r, col) => (shown[r][col] === null ? "hole" : null);
    drawGrid(divs[c], shown, { cell, scale, special: dilated ? hole : null });
  });
  const O = trace.output.length;
  const which = O > 1 ? ` for feature map ${o}` : "";
  const how = [trace.flip ? "flipped 180°" : "", dilated ? `dilated ${encodePair(trace.dilation)}` : ""]
    .filter(Boolean).join(", ");
  $("kernel-title").textContent = `Kernel${how ? `, ${how}` : ""}${which}`;
  view.kernelFor = o;
}

// The window on the input: its outline (shaded when dilated: the receptive field) and taps.
function inputShapes(step) {
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  const shapes = windowShapes(step.window[0], step.window[1], kh, kw, dh, dw);
  if (dh > 1 || dw > 1) shapes[0].fillcolor = "rgba(245, 158, 11, 0.14)";
  return shapes;
}

function drawStep(index) {
  const step = trace.steps[index];
  const [o, r, c] = step.position;
  const [, oh, ow] = trace.output_shape;
  const cells = oh * ow;
  if (o !== view.kernelFor) drawKernels(o);
  const shapes = inputShapes(step);
  view.inputDivs.forEach((div) => H.setShapes(div, shapes));
  trace.output.forEach((grid, k) => {
    const filled = Math.max(0, Math.min(cells, index - k * cells + 1));
    if (filled !== view.filled[k]) {
      const z = revealed(grid, filled);
      H.setGrid(view.outputDivs[k], z, gridText(z));
      view.filled[k] = filled;
    }
  });
  if (view.currentOn !== o && view.currentOn >= 0) H.setShapes(view.outputDivs[view.currentOn], []);
  H.setShapes(view.outputDivs[o], [H.rect(r, c, r, c, { color: H.COLORS.current, width: 4 })]);
  view.currentOn = o;
  drawExpression(step);
  saveURL(index);
}

function drawExpression(step) {
  const C = trace.padded_input.length;
  const [o, r, c] = step.position;
  const perChannel = step.terms.length / C;
  const lines = [];
  const bias = `${factor(step.bias)} (bias)`;
  if (C === 1) {
    lines.push(expressionLine("", `${productsText(step.terms)} + ${bias}`, fmt(step.value)));
  } else {
    for (let k = 0; k < C; k += 1) {
      const terms = step.terms.slice(k * perChannel, (k + 1) * perChannel);
      lines.push(expressionLine(channelLabel(k, C), productsText(terms), fmt(step.partials[k])));
    }
    const total = expressionLine("total", `${sumText(step.partials)} + ${bias}`, fmt(step.value));
    total.classList.add("expr-total");
    lines.push(total);
  }
  $("expression").replaceChildren(...lines);
  const O = trace.output.length;
  $("position").textContent = `${O > 1 ? `Feature map ${o}, ` : "Output "}row ${r}, column ${c}`
    + ` ← window at row ${step.window[0]}, column ${step.window[1]} of the padded input`;
}

function drawFacts() {
  renderFormula($("formula"), trace.formula);
  const p = trace.parameters;
  const [fh, fw] = trace.footprint;
  const [, , kh, kw] = shapeOf(trace.kernel);
  $("params-conv").textContent = p.conv_expression;
  $("params-dense").textContent = p.dense_expression;
  const dilated = fh !== kh || fw !== kw;
  $("footprint").textContent = dilated
    ? `With dilation ${encodePair(trace.dilation)}, the ${kh} × ${kw} kernel spans ${fh} × ${fw} `
      + "cells of the padded input: its receptive field grows, its parameters do not."
    : `Each output value sees a ${fh} × ${fw} window of the padded input.`;
  $("receptive-field").textContent = dilated
    ? `${fh} × ${fw} cells of the padded input in each channel (the shaded square), read `
      + `through ${kh * kw} weights at the dotted taps. Without dilation the same kernel `
      + `would see ${kh} × ${kw}.`
    : `${fh} × ${fw} cells of the padded input in each channel, one weight for each.`;
}

// ---------------------------------------------------------------- start

bindControls();
const start = fromURL();
config = start.config;
showConfig();
compute(start.step);
