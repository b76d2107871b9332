// The convolution playground: edit an input and a kernel, then step the kernel across the
// padded input while every multiply-and-sum is written out. One request per change of
// settings; stepping is drawn from the trace already received. The URL, the panel, the
// grids and the stepper are the operation page's (lib/operation-page.js). The padding is
// typed as the API takes it (a number, rows and cols, top/bottom/left/right, "same",
// "valid") and filled as the padding mode says. `?dims=1` and `?dims=3` open the 1-D and
// 3-D views instead (convolution-nd.js).

import { renderFormula } from "../draw/expression.js";
import { arrange, fitColumns } from "../draw/fit.js";
import {
  blank, cellFor, drawGrids, drawKernels, moveShapes, plotSlots, revealOutputs, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { $, readPayload } from "../lib/dom.js";
import { readKernelSize, startOperationPage } from "../lib/operation-page.js";
import { bias, flag, pair } from "../lib/settings.js";
import { asPair, asStack, clone, fitLength, resize4d, shapeOf } from "../lib/shapes.js";
import { encodePair } from "../lib/urlstate.js";
import {
  inputBorder, MODE_TEXT, modeSetting, paddingSetting, paddingTest, presetPadding, writeSum,
} from "./conv-steps.js";
import { showViewTabs, startNdView } from "./convolution-nd.js";

const RGB = ["R", "G", "B"];
const RECEPTIVE_FIELD = "rgba(245, 158, 11, 0.14)"; // the dilated window's shading

const payload = readPayload();
const LIMITS = payload.limits;
const KERNELS = Object.fromEntries(payload.kernels.map((k) => [k.name, k]));

let view = null; // what is drawn now, so a step redraws only what changed

// ---------------------------------------------------------------- the config

// A kernel as O×C×kh×kw, from kh×kw (one input and output channel) or C×kh×kw.
function as4d(k) {
  const depth = shapeOf(k).length;
  if (depth === 2) return [[k]];
  return depth === 3 ? [k] : k;
}

// { input C×H×W, kernel O×C×kh×kw, bias [O], stride, padding, dilation, flip, preset }
function fromPreset(preset) {
  const kernel = as4d(clone(preset.kernel));
  const biases = Array.isArray(preset.bias) ? [...preset.bias] : Array(kernel.length).fill(preset.bias);
  return {
    input: asStack(clone(preset.input)),
    kernel,
    bias: biases,
    stride: asPair(preset.stride),
    padding: presetPadding(preset.padding, 2),
    padding_mode: preset.padding_mode || "zeros",
    dilation: asPair(preset.dilation),
    flip: preset.flip,
    preset: preset.name,
  };
}

function sizes(config) {
  const [O, , kh, kw] = shapeOf(config.kernel);
  return { out_c: O, k_h: kh, k_w: kw };
}

function resizeKernel(config, controls) {
  const [O, kh, kw] = readKernelSize(controls, LIMITS);
  config.kernel = resize4d(config.kernel, [O, config.input.length, kh, kw]);
  config.bias = fitLength(config.bias, O);
}

function channelLabel(c, count) {
  return count === 3 ? `channel ${c} (${RGB[c]})` : `channel ${c}`;
}

function kernelEditor(config) {
  const C = config.input.length;
  const slices = [];
  config.kernel.forEach((perOut, o) => perOut.forEach((values, c) => slices.push({
    label: config.kernel.length > 1 || C > 1 ? `Kernel, output ${o}, input ${c}` : "Kernel", values,
  })));
  return [{ id: "kernel-editor", slices }];
}

function useClassicKernel(name) {
  const { weights } = KERNELS[name];
  page.config.kernel = page.config.kernel.map((perOut) => perOut.map(() => clone(weights)));
  page.show();
  page.edited({ now: true });
}

// ---------------------------------------------------------------- drawing

// Cells per column (input, kernel, output) so that the row fits its room, the output's
// large enough for its longest number ("−19" needs more than "9").
function fitFigures(trace, room) {
  const C = trace.padded_input.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const figures = $("stage").querySelector(".figures");
  const fit = fitColumns([
    { grids: Array(C).fill([Hp, Wp]) },
    { grids: Array(C).fill(trace.footprint), small: true },
    { grids: trace.output.map(() => [oh, ow]), need: cellFor(trace.output) },
  ], { ...room(figures), maxCell: H.maxCell() });
  arrange(figures, fit);
  return fit.cells;
}

function drawAll(trace, config, room) {
  const C = trace.padded_input.length;
  const O = trace.output.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const ring = paddingTest(trace.pads, [Hp, Wp]);
  const zeros = trace.padding_mode === "zeros";
  const [inputCell, kernelCell, outputCell] = fitFigures(trace, room);
  const inputDivs = drawGrids($("input-plots"), trace.padded_input,
    trace.padded_input.map((_, c) => (C > 1 ? channelLabel(c, C) : `${Hp} × ${Wp}`)),
    { cell: inputCell, scale: H.colorScale(zeros ? config.input : trace.padded_input),
      special: (r, c) => (zeros && ring(r, c) ? "padding" : null) });
  const padded = trace.pads.some(([before, after]) => before + after > 0);
  const border = !zeros && padded ? [inputBorder(trace.pads, Hp, Wp)] : [];
  const outputDivs = drawGrids($("output-plots"), trace.output.map(() => blank(oh, ow)),
    trace.output.map((_, o) => (O > 1 ? `feature map ${o}` : `${oh} × ${ow}`)),
    (o) => ({ cell: outputCell, scale: H.colorScale(trace.output), fits: trace.output[o], strict: true }));
  $("output-shape").textContent = `${O} × ${oh} × ${ow}`;
  view = { inputDivs, outputDivs, filled: Array(O).fill(0), kernelFor: -1, currentOn: -1, kernelCell, border };
  $("padding-mode-text").textContent = padded ? `Padding: ${MODE_TEXT[trace.padding_mode]}.` : "";
  drawFacts(trace);
}

// The kernel for feature map o, one slice per input channel, spread out when dilated.
function drawKernel(trace, o) {
  const C = trace.padded_input.length;
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [fh, fw] = trace.footprint;
  const dilated = trace.dilation.some((d) => d > 1);
  const size = dilated ? `${kh} × ${kw} weights over ${fh} × ${fw}` : `${kh} × ${kw}`;
  const divs = plotSlots($("kernel-plots"), trace.kernel[o].map((_, c) =>
    (C > 1 ? `× ${C === 3 ? RGB[c] : `channel ${c}`}` : size)));
  drawKernels(divs, trace.kernel[o], {
    cell: view.kernelCell, scale: H.colorScale(trace.kernel.flat()),
    dilation: trace.dilation,
  });
  const which = trace.output.length > 1 ? ` for feature map ${o}` : "";
  const how = [trace.flip ? "flipped 180°" : "", dilated ? `dilated ${encodePair(trace.dilation)}` : ""]
    .filter(Boolean).join(", ");
  $("kernel-title").textContent = `Kernel${how ? `, ${how}` : ""}${which}`;
  view.kernelFor = o;
}

// The window on the input: its outline (shaded when dilated: the receptive field) and taps.
function inputShapes(trace, step) {
  const [, , kh, kw] = shapeOf(trace.kernel);
  const [dh, dw] = trace.dilation;
  const shapes = windowShapes(step.window[0], step.window[1], kh, kw, dh, dw);
  if (dh > 1 || dw > 1) shapes[0].fillcolor = RECEPTIVE_FIELD;
  return shapes;
}

function drawStep(index, trace) {
  const step = trace.steps[index];
  const [o, r, c] = step.position;
  if (o !== view.kernelFor) drawKernel(trace, o);
  const shapes = [...view.border, ...inputShapes(trace, step)];
  view.inputDivs.forEach((div) => H.setShapes(div, shapes));
  revealOutputs(view.outputDivs, trace.output, index, view.filled);
  view.currentOn = moveShapes(view.outputDivs, view.currentOn, o, [H.mark(r, c)]);
  drawExpression(trace, step);
}

function drawExpression(trace, step) {
  const C = trace.padded_input.length;
  const [o, r, c] = step.position;
  writeSum($("expression"), step, C, (k) => channelLabel(k, C));
  const O = trace.output.length;
  $("position").textContent = `${O > 1 ? `Feature map ${o}, ` : "Output "}row ${r}, column ${c}`
    + ` ← window at row ${step.window[0]}, column ${step.window[1]} of the padded input`;
}

function drawFacts(trace) {
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

const dims = Number(new URLSearchParams(window.location.search).get("dims")) || 2;
showViewTabs(dims);
const page = dims === 2 ? startOperationPage(payload, {
  endpoint: "/api/convolution",
  fromPreset,
  arrays: { input: asStack, kernel: as4d },
  settings: {
    bias: bias((config) => config.kernel.length),
    stride: pair(1, LIMITS.max_stride),
    padding: paddingSetting(2),
    padding_mode: modeSetting(payload.padding_modes),
    dilation: pair(1, LIMITS.max_dilation),
    flip: flag(),
  },
  sizes,
  resize: resizeKernel,
  inputLabel: (c, C) => (C > 1 ? `Input, ${channelLabel(c, C)}` : "Input"),
  editors: kernelEditor,
  random: { input: [0, 9], kernel: [-2, 2] },
  draw: drawAll,
  steppers: [{ count: (trace) => trace.steps.length, draw: drawStep }],
}) : startNdView(payload, dims);
if (dims === 2) {
  $("classic").addEventListener("change", (event) => {
    if (KERNELS[event.target.value]) useClassicKernel(event.target.value);
    event.target.value = "";
  });
}
