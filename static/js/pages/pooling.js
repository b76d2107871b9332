// The pooling page: a window slides over each channel of the padded input and the max, the
// average or the sum of what it covers is written out at every step. One request per change
// of settings; stepping is drawn from the trace already received. The URL, the panel, the
// grids and the stepper are the operation page's (lib/operation-page.js); below them, the
// shift demonstration (widgets/shift-demo.js) and adaptive pooling (widgets/adaptive-pool.js).

import { expressionLine, renderFormula } from "../draw/expression.js";
import { arrange, fitColumns } from "../draw/fit.js";
import {
  blank, drawGrid, drawGrids, moveShapes, paddingRing, plotSlots, revealOutputs, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { $, readPayload } from "../lib/dom.js";
import { fmt, joinShown } from "../lib/format.js";
import { startOperationPage } from "../lib/operation-page.js";
import { choice, pair } from "../lib/settings.js";
import { asPair, asStack, clone, shapeOf } from "../lib/shapes.js";
import { createAdaptivePool } from "../widgets/adaptive-pool.js";
import { createShiftDemo } from "../widgets/shift-demo.js";

const KINDS = { max: "Max pooling", avg: "Average pooling", sum: "Sum pooling" };
const FACTS = {
  max: () => "The largest value in each window wins; its cell is outlined in green. Padded "
    + "cells are −∞ to max, so they never win.",
  avg: (kh, kw, area) => `The mean of each window: its sum divided by ${kh}·${kw} = ${area}. `
    + "Padded cells count as zeros and stay in the divisor (torch's count_include_pad=True).",
  sum: (kh, kw, area) => `The total of each window. Torch has no sum pooling: it is average `
    + `pooling × ${kh}·${kw} = ${area} (F.avg_pool2d · ${area}), padded cells counting as zeros.`,
};

const payload = readPayload();
const LIMITS = payload.limits;

let view = null; // what is drawn now, so a step redraws only what changed

// { input C×H×W, kind, size [h, w], stride [h, w], padding [h, w], preset }
function fromPreset(preset) {
  return {
    input: asStack(clone(preset.input)),
    kind: preset.kind,
    size: asPair(preset.size),
    stride: asPair(preset.stride ?? preset.size),
    padding: asPair(preset.padding),
    preset: preset.name,
  };
}

// ---------------------------------------------------------------- drawing

// Padding is drawn as "−∞" for max (never wins) and "0" for average and sum.
function padSpecial(r, c) {
  if (!view.ring(r, c)) return null;
  return view.kind === "max" ? "ignored" : "padding";
}

// Cells per column (input, window, output) so that the row fits its room.
function fitFigures(trace, room) {
  const C = trace.padded_input.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const figures = $("stage").querySelector(".figures");
  const fit = fitColumns([
    { grids: Array(C).fill([Hp, Wp]) },
    { grids: [trace.size], small: true },
    { grids: Array(C).fill([oh, ow]) },
  ], { ...room(figures), maxCell: H.maxCell() });
  arrange(figures, fit);
  return fit.cells;
}

function drawAll(trace, config, room) {
  const C = trace.padded_input.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const [kh, kw] = trace.size;
  const scale = H.colorScale(config.input);
  const [inputCell, windowCell, outputCell] = fitFigures(trace, room);
  view = { ring: paddingRing(Hp, Wp, trace.padding), kind: trace.kind };
  const inputDivs = drawGrids($("input-plots"), trace.padded_input,
    trace.padded_input.map((_, c) => (C > 1 ? `channel ${c}` : `${Hp} × ${Wp}`)),
    { cell: inputCell, scale, special: padSpecial });
  const outputDivs = drawGrids($("output-plots"), trace.output.map(() => blank(oh, ow)),
    trace.output.map((_, c) => (C > 1 ? `channel ${c}` : `${oh} × ${ow}`)),
    { cell: outputCell, scale });
  const [windowDiv] = plotSlots($("window-plots"), [`${kh} × ${kw}`]);
  $("output-shape").textContent = `${C} × ${oh} × ${ow}`;
  $("window-title").textContent = `Window, ${KINDS[trace.kind].split(" ")[0].toLowerCase()}`;
  Object.assign(view, {
    inputDivs, outputDivs, windowDiv, scale, filled: Array(C).fill(0), inputOn: -1, outputOn: -1,
    windowCell,
  });
  drawFacts(trace);
}

function drawStep(index, trace) {
  const step = trace.steps[index];
  const [c, i, j] = step.position;
  const [kh, kw] = trace.size;
  const shapes = windowShapes(...step.window, kh, kw);
  if (step.winner) shapes.push(H.mark(...step.winner, H.COLORS.winner));
  view.inputOn = moveShapes(view.inputDivs, view.inputOn, c, shapes);
  revealOutputs(view.outputDivs, trace.output, index, view.filled);
  view.outputOn = moveShapes(view.outputDivs, view.outputOn, c, [H.mark(i, j)]);
  drawWindow(step, kh, kw);
  drawExpression(trace, step);
}

// The window's values on their own, the winner of a max outlined.
function drawWindow(step, kh, kw) {
  const [r0, c0] = step.window;
  const grid = Array.from({ length: kh }, (_, a) => step.values.slice(a * kw, (a + 1) * kw));
  const shapes = step.winner ? [H.mark(step.winner[0] - r0, step.winner[1] - c0, H.COLORS.winner)] : [];
  drawGrid(view.windowDiv, grid, {
    cell: view.windowCell, scale: view.scale, special: (a, b) => padSpecial(r0 + a, c0 + b), shapes,
  });
}

function drawExpression(trace, step) {
  const [c, i, j] = step.position;
  const [r0, c0] = step.window;
  const kw = trace.size[1];
  const { area } = trace;
  const padded = step.values.filter((_, n) => view.ring(r0 + Math.floor(n / kw), c0 + (n % kw)))
    .length;
  let text;
  if (trace.kind === "max") {
    text = `max(${joinShown(step.values.filter((v) => v !== null).map((v) => fmt(v)), ", ")})`;
  } else {
    const sum = joinShown(step.values.map((v) => fmt(v)), " + ");
    text = trace.kind === "avg" ? `(${sum}) / ${area}` : sum;
  }
  $("expression").replaceChildren(expressionLine("", text, fmt(step.value)));
  const C = trace.output.length;
  $("position").textContent = `${C > 1 ? `Channel ${c}, output` : "Output"} row ${i}, column ${j}`
    + ` ← window at row ${r0}, column ${c0} of the padded input`;
  $("padding-hint").textContent = paddingHint(trace, padded);
}

function paddingHint(trace, padded) {
  if (!padded) return "";
  const { area } = trace;
  const pads = `${padded} of the ${area} cells ${padded === 1 ? "is" : "are"} padding`;
  if (trace.kind === "max") return `${pads}: max ignores ${padded === 1 ? "it" : "them"} (torch pads with −∞).`;
  const divisor = trace.kind === "avg" ? `, and the divisor stays ${area}` : "";
  return `${pads}: ${padded === 1 ? "it counts" : "they count"} as 0${divisor}.`;
}

function drawFacts(trace) {
  renderFormula($("formula"), trace.formula);
  const [kh, kw] = trace.size;
  $("kind-title").textContent = KINDS[trace.kind];
  $("kind-fact").textContent = FACTS[trace.kind](kh, kw, trace.area);
  const C = trace.output.length;
  $("channel-count").textContent = `${C} channel${C === 1 ? "" : "s"}, like the input`;
}

// ---------------------------------------------------------------- start

startOperationPage(payload, {
  endpoint: "/api/pooling",
  fromPreset,
  settings: {
    kind: choice(payload.kinds),
    size: pair(1, LIMITS.max_window),
    stride: pair(1, LIMITS.max_stride, { follows: "size" }),
    padding: pair(0, LIMITS.max_padding),
  },
  inputLabel: (c, C) => (C > 1 ? `Input, channel ${c}` : "Input"),
  draw: drawAll,
  steppers: [{ count: (trace) => trace.steps.length, draw: drawStep }],
});
createShiftDemo($("shift"), { demos: payload.demos, limits: LIMITS });
createAdaptivePool($("adaptive"), payload.adaptive);
