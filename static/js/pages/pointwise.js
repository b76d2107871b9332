// The 1×1-convolution page: step from pixel to pixel; at each, the channel vector x is
// multiplied by the mixing matrix W and the bias added, giving that pixel's output channels.
// Computed by POST /api/convolution with a C_out×C_in×1×1 kernel; each pixel's expression is
// read from that trace's steps (one per output channel). The URL, the panel, the grids and
// the stepper are the operation page's (lib/operation-page.js).

import { expressionLine } from "../draw/expression.js";
import { arrange, fitColumns } from "../draw/fit.js";
import { blank, drawGrid, drawGrids, gridText, revealed } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { $, readPayload } from "../lib/dom.js";
import { factor, fmt, productsText } from "../lib/format.js";
import { startOperationPage } from "../lib/operation-page.js";
import { bias } from "../lib/settings.js";
import { clone, fitLength, resize, shapeOf } from "../lib/shapes.js";

const RGB = ["R", "G", "B"];
const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";
const DIGITS = 2; // decimals printed in the output cells (the expression shows them all)

const payload = readPayload();
const LIMITS = payload.limits;

let view = null; // what is drawn now

const sub = (n) => String(n).split("").map((d) => SUBSCRIPTS[Number(d)]).join("");
const channelName = (c, count) => (count === 3 ? `${RGB[c]} (channel ${c})` : `channel ${c}`);

// ---------------------------------------------------------------- the config

// { input C×H×W, weights O×C, bias [O], preset }
function fromPreset(preset) {
  return {
    input: clone(preset.input), weights: clone(preset.weights), bias: [...preset.bias],
    preset: preset.name,
  };
}

const ofDepth = (depth) => (array) => (shapeOf(array).length === depth ? array : null);

function resizeWeights(config, controls) {
  const O = controls.int("out_c", 1, LIMITS.max_out_channels);
  config.weights = resize(config.weights, O, config.input.length);
  config.bias = fitLength(config.bias, O);
  controls.field("bias").value = config.bias.map((b) => fmt(b, 6)).join(", ");
}

function body(config) {
  const kernel = config.weights.map((row) => row.map((w) => [[w]])); // O×C×1×1
  return { input: config.input, kernel, bias: config.bias };
}

// ---------------------------------------------------------------- drawing

const MIX_SIGNS = 130; // pixels of "·" and "+ b =" between the product's grids

// Cells for the input's channels, the product (W, x, y: small) and the output's channels.
function fitFigures(trace, room) {
  const C = trace.padded_input.length;
  const O = trace.output.length;
  const [, Hh, W] = shapeOf(trace.padded_input);
  const figures = $("stage").querySelector(".figures");
  const heading = [...figures.querySelectorAll(":scope > .figure-col > h2")].map((h) => h.scrollWidth + 4);
  const fit = fitColumns([
    { grids: Array(C).fill([Hh, W]), min: heading[0] },
    { grids: [[O, C], [C, 1], [O, 1]], small: true, side: true, extra: MIX_SIGNS, min: heading[1] },
    { grids: Array(O).fill([Hh, W]), min: heading[2] },
  ], { ...room(figures), maxCell: H.maxCell() });
  arrange(figures, fit);
  return fit.cells;
}

function drawAll(trace, config, room) {
  const C = trace.padded_input.length;
  const O = trace.output.length;
  const [, Hh, W] = shapeOf(trace.padded_input);
  const inScale = H.colorScale(trace.padded_input);
  const outScale = H.colorScale(trace.output);
  const [inCell, small, outCell] = fitFigures(trace, room);
  const inputDivs = drawGrids($("input-plots"), trace.padded_input,
    trace.padded_input.map((_, c) => channelName(c, C)), { cell: inCell, scale: inScale });
  const outputDivs = drawGrids($("output-plots"), trace.output.map(() => blank(Hh, W)),
    trace.output.map((_, o) => `channel ${o}`),
    (o) => ({ cell: outCell, scale: outScale, digits: DIGITS, fits: trace.output[o] }));
  const matrix = trace.kernel.map((perOut) => perOut.map((k) => k[0][0])); // O×C
  drawGrid($("matrix-plot"), matrix, { cell: small, scale: H.colorScale([matrix]) });
  $("input-shape").textContent = `${C} × ${Hh} × ${W}`;
  $("output-shape").textContent = `${O} × ${Hh} × ${W}`;
  $("params-conv").textContent = trace.parameters.conv_expression;
  $("params-dense").textContent = trace.parameters.dense_expression;
  view = { inputDivs, outputDivs, small, inScale, outScale };
}

function drawStep(index, trace) {
  const [, Hh, W] = shapeOf(trace.padded_input);
  const r = Math.floor(index / W);
  const c = index % W;
  const steps = trace.output.map((_, o) => trace.steps[o * Hh * W + index]);
  const mark = [H.mark(r, c)];
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
}

// ---------------------------------------------------------------- start

startOperationPage(payload, {
  endpoint: "/api/convolution",
  fromPreset,
  arrays: { input: ofDepth(3), weights: ofDepth(2) },
  settings: { bias: bias((config) => config.weights.length) },
  sizes: (config) => ({ out_c: config.weights.length }),
  resize: resizeWeights,
  inputLabel: (c, C) => `Input, ${channelName(c, C)}`,
  editors: (config) => [{ id: "matrix-editor", slices: [{ label: "W", values: config.weights }] }],
  random: { input: [0, 9], weights: [-2, 2] },
  body,
  draw: drawAll,
  steppers: [{ count: (trace) => trace.output_shape[1] * trace.output_shape[2], draw: drawStep }],
});
