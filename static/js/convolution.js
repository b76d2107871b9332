// The convolution playground: edit an input and a kernel, then step the kernel across the
// padded input while every multiply-and-sum is written out. One request per change of
// settings; stepping is drawn from the trace already received.

import { ApiError, latestOnly, postJSON } from "./api.js";
import { expressionLine, formulaLines } from "./expression.js";
import { factor, fmt, parseNumber, productsText, sumText } from "./format.js";
import { renderGrids } from "./grid-editor.js";
import * as H from "./heatmap.js";
import { createStepper } from "./stepper.js";
import {
  decodeArray, decodePair, encodeArray, encodePair, readParams, shapeOf, writeParams,
} from "./urlstate.js";

const EDIT_DELAY_MS = 250;
const RGB = ["R", "G", "B"];

const payload = JSON.parse(document.getElementById("payload").textContent);
const LIMITS = payload.limits;
const PRESETS = Object.fromEntries(payload.presets.map((p) => [p.name, p]));
const KERNELS = Object.fromEntries(payload.kernels.map((k) => [k.name, k]));
const $ = (id) => document.getElementById(id);
const stage = $("stage");
const controls = $("controls");

let config = null; // { input C×H×W, kernel O×C×kh×kw, bias [O], stride, padding, dilation, flip, preset }
let trace = null;
let view = null; // what is drawn now, so a step redraws only what changed
const request = latestOnly((body, signal) => postJSON("/api/convolution", body, signal));
const stepper = createStepper($("stepper"), { onStep: drawStep });

// ---------------------------------------------------------------- settings

const clone = (a) => JSON.parse(JSON.stringify(a));
const asPair = (v) => (Array.isArray(v) ? [...v] : [v, v]);
const zeros = (rows, cols) => Array.from({ length: rows }, () => Array(cols).fill(0));
const as3d = (a) => (shapeOf(a).length === 2 ? [a] : a);
function as4d(k) {
  const depth = shapeOf(k).length;
  if (depth === 2) return [[k]];
  return depth === 3 ? [k] : k;
}

function fromPreset(preset) {
  const kernel = as4d(clone(preset.kernel));
  const bias = Array.isArray(preset.bias) ? [...preset.bias] : Array(kernel.length).fill(preset.bias);
  return {
    input: as3d(clone(preset.input)),
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
    base.input = as3d(input);
    base.kernel = as4d(kernel);
  }
  const bias = (q.get("bias") || "").split(",").map(parseNumber);
  base.bias = fitBias(bias.every(Number.isFinite) && q.has("bias") ? bias : base.bias,
                      base.kernel.length);
  base.stride = decodePair(q.get("stride"), base.stride);
  base.padding = decodePair(q.get("padding"), base.padding);
  base.dilation = decodePair(q.get("dilation"), base.dilation);
  if (q.has("flip")) base.flip = q.get("flip") === "1";
  if (!q.has("preset")) base.preset = q.has("input") ? null : base.preset;
  return { config: base, step: Math.max(0, Number.parseInt(q.get("step") || "1", 10) - 1) || 0 };
}

function fitBias(bias, count) {
  if (bias.length === count) return bias;
  if (bias.length === 1) return Array(count).fill(bias[0]);
  return Array.from({ length: count }, (_, i) => bias[i] ?? 0);
}

function resize(grid, rows, cols) {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => (grid[r] && grid[r][c] !== undefined ? grid[r][c] : 0)));
}

function saveURL(index) {
  const params = {};
  if (config.preset) params.preset = config.preset;
  Object.assign(params, {
    input: encodeArray(config.input),
    kernel: encodeArray(config.kernel),
    bias: config.bias.join(","),
    stride: encodePair(config.stride),
    padding: encodePair(config.padding),
    dilation: encodePair(config.dilation),
    flip: config.flip ? "1" : "0",
    step: String(index + 1),
  });
  writeParams(params);
}

// ---------------------------------------------------------------- controls

function field(name) {
  return controls.querySelector(`[name="${name}"]`);
}

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
  for (const [name, value] of Object.entries(values)) field(name).value = String(value);
  field("flip").checked = config.flip;
  field("bias").value = config.bias.map((b) => fmt(b, 6)).join(", ");
  const note = config.preset ? PRESETS[config.preset].note : "";
  $("note").hidden = !note;
  $("note-text").textContent = note;
  $("source").textContent = config.preset ? `From: ${PRESETS[config.preset].source}` : "Your own numbers";
  renderEditors();
}

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

let editTimer = null;
function edited({ now = false, keepStep = true } = {}) {
  config.preset = null;
  $("preset").value = "";
  $("note").hidden = true;
  $("source").textContent = "Your own numbers";
  clearTimeout(editTimer);
  const step = keepStep ? stepper.index : 0;
  editTimer = setTimeout(() => compute(step), now ? 0 : EDIT_DELAY_MS);
}

function clampInt(name, lo, hi) {
  const value = Math.round(Number(field(name).value));
  const ok = Number.isFinite(value) ? Math.max(lo, Math.min(hi, value)) : lo;
  field(name).value = String(ok);
  return ok;
}

function onShapeChange() {
  const C = clampInt("in_c", 1, LIMITS.max_channels);
  const Hh = clampInt("in_h", 1, LIMITS.max_size);
  const W = clampInt("in_w", 1, LIMITS.max_size);
  const O = clampInt("out_c", 1, LIMITS.max_out_channels);
  const kh = clampInt("k_h", 1, LIMITS.max_kernel);
  const kw = clampInt("k_w", 1, LIMITS.max_kernel);
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  config.kernel = Array.from({ length: O }, (_, o) => Array.from({ length: C }, (_, c) =>
    resize((config.kernel[o] && config.kernel[o][c]) || [], kh, kw)));
  config.bias = fitBias(config.bias, O);
  renderEditors();
  edited({ now: true, keepStep: false });
}

function onLayerChange() {
  const pair = (name, lo, hi) => [clampInt(`${name}_h`, lo, hi), clampInt(`${name}_w`, lo, hi)];
  config.padding = pair("padding", 0, LIMITS.max_padding);
  config.stride = pair("stride", 1, LIMITS.max_stride);
  config.dilation = pair("dilation", 1, LIMITS.max_dilation);
  config.flip = field("flip").checked;
  const bias = field("bias").value.split(",").map(parseNumber);
  const ok = bias.every(Number.isFinite);
  field("bias").classList.toggle("invalid", !ok);
  if (ok) config.bias = fitBias(bias, config.kernel.length);
  edited({ now: true });
}

function useClassicKernel(name) {
  const weights = KERNELS[name].weights;
  config.kernel = config.kernel.map((perOut) => perOut.map(() => clone(weights)));
  showConfig();
  edited({ now: true });
}

function randomise() {
  const int = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
  config.input = config.input.map((g) => g.map((row) => row.map(() => int(0, 9))));
  config.kernel = config.kernel.map((p) => p.map((g) => g.map((row) => row.map(() => int(-2, 2)))));
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
  for (const name of ["in_c", "in_h", "in_w", "out_c", "k_h", "k_w"]) {
    field(name).addEventListener("change", onShapeChange);
  }
  for (const name of ["padding_h", "padding_w", "stride_h", "stride_w", "dilation_h",
    "dilation_w", "flip", "bias"]) {
    field(name).addEventListener("change", onLayerChange);
  }
}

// ---------------------------------------------------------------- computing

function body() {
  return {
    input: config.input, kernel: config.kernel, bias: config.bias, stride: config.stride,
    padding: config.padding, dilation: config.dilation, flip: config.flip,
  };
}

async function compute(step) {
  stage.dataset.state = "loading";
  try {
    trace = await request(body());
  } catch (error) {
    if (error.name === "AbortError") return;
    showError(error instanceof ApiError ? error.message : `Could not reach the server: ${error.message}`);
    return;
  }
  $("error").hidden = true;
  stage.classList.remove("stale");
  drawAll();
  stepper.setCount(trace.steps.length, step);
  stage.dataset.state = "ready";
}

function showError(message) {
  $("error").hidden = false;
  $("error").textContent = message;
  stage.classList.add("stale");
  stage.dataset.state = "error";
}

// ---------------------------------------------------------------- drawing

function gridText(z) {
  return z.map((row) => row.map((v) => (v === null ? "" : fmt(v))));
}

function drawAll() {
  const C = trace.padded_input.length;
  const O = trace.output.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const [ph, pw] = trace.padding;
  const box = C > 1 ? 250 : 380;
  const cellIn = H.cellSize(Hp, Wp, box);
  const inScale = H.colorScale(config.input);
  const inputDivs = H.plotSlots($("input-plots"), trace.padded_input.map((_, c) =>
    (C > 1 ? channelLabel(c, C) : `${Hp} × ${Wp}`)));
  trace.padded_input.forEach((grid, c) => {
    const isPad = (r, col) => r < ph || r >= Hp - ph || col < pw || col >= Wp - pw;
    const z = grid.map((row, r) => row.map((v, col) => (isPad(r, col) ? null : v)));
    const pad = grid.map((row, r) => row.map((_, col) => (isPad(r, col) ? 0 : null)));
    const traces = [H.trace(z, gridText(z), cellIn, inScale)];
    if (ph || pw) traces.push(H.paddingTrace(pad, cellIn));
    H.draw(inputDivs[c], traces, H.layout(Hp, Wp, cellIn));
  });
  const outCell = H.cellSize(oh, ow, O > 1 ? 220 : 320);
  const outScale = H.colorScale(trace.output.map((g) => g));
  const outputDivs = H.plotSlots($("output-plots"), trace.output.map((_, o) =>
    (O > 1 ? `feature map ${o}` : `${oh} × ${ow}`)));
  trace.output.forEach((_, o) => {
    const empty = zeros(oh, ow).map((row) => row.map(() => null));
    H.draw(outputDivs[o], [H.trace(empty, gridText(empty), outCell, outScale)], H.layout(oh, ow, outCell));
  });
  $("output-shape").textContent = `${O} × ${oh} × ${ow}`;
  view = { inputDivs, outputDivs, filled: Array(O).fill(0), kernelFor: -1, currentOn: -1 };
  drawFacts();
}

function drawKernels(o) {
  const C = trace.padded_input.length;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const cell = H.cellSize(kh, kw, C > 1 ? 150 : 200);
  const scale = H.colorScale(trace.kernel.flat());
  const divs = H.plotSlots($("kernel-plots"), trace.kernel[o].map((_, c) =>
    (C > 1 ? `slice for ${channelLabel(c, C)}` : `${kh} × ${kw}`)));
  trace.kernel[o].forEach((grid, c) => {
    H.draw(divs[c], [H.trace(grid, gridText(grid), cell, scale)], H.layout(kh, kw, cell));
  });
  const O = trace.output.length;
  const which = O > 1 ? ` for feature map ${o}` : "";
  $("kernel-title").textContent = trace.flip ? `Kernel, flipped 180°${which}` : `Kernel${which}`;
  view.kernelFor = o;
}

function windowShapes(step) {
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  const [r0, c0] = step.window;
  const shapes = [H.rect(r0, c0, r0 + (kh - 1) * dh, c0 + (kw - 1) * dw)];
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

function drawStep(index) {
  const step = trace.steps[index];
  const [o, r, c] = step.position;
  const [, oh, ow] = trace.output_shape;
  const cells = oh * ow;
  if (o !== view.kernelFor) drawKernels(o);
  const shapes = windowShapes(step);
  view.inputDivs.forEach((div) => H.setShapes(div, shapes));
  trace.output.forEach((grid, k) => {
    const filled = Math.max(0, Math.min(cells, index - k * cells + 1));
    if (filled !== view.filled[k]) {
      const z = grid.map((row, i) => row.map((v, j) => (i * ow + j < filled ? v : null)));
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
  $("formula").replaceChildren(...formulaLines(trace.formula));
  const p = trace.parameters;
  const [fh, fw] = trace.footprint;
  const [, , kh, kw] = shapeOf(trace.kernel);
  $("params-conv").textContent = p.conv_expression;
  $("params-dense").textContent = p.dense_expression;
  $("footprint").textContent = (fh === kh && fw === kw)
    ? `Each output value sees a ${fh} × ${fw} window of the padded input.`
    : `With dilation ${encodePair(trace.dilation)}, the ${kh} × ${kw} kernel spans ${fh} × ${fw} `
      + "cells of the padded input: its receptive field grows, its parameters do not.";
}

// ---------------------------------------------------------------- start

bindControls();
const start = fromURL();
config = start.config;
showConfig();
compute(start.step);
