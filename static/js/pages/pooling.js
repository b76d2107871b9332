// The pooling page: a window slides over each channel of the padded input and the max, the
// average or the sum of what it covers is written out at every step. One request per change
// of settings; stepping is drawn from the trace already received. Below it, the shift
// demonstration (shift-demo.js).

import { createControls, createEditing, createLive, showSource } from "../lib/controls.js";
import { expressionLine, renderFormula } from "../draw/expression.js";
import { fmt, joinShown } from "../lib/format.js";
import { renderGrids } from "../widgets/grid-editor.js";
import {
  blank, drawGrid, gridText, paddingRing, plotSlots, revealed, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { asPair, asStack, clone, randomInt, resize, shapeOf } from "../lib/shapes.js";
import { createShiftDemo } from "../widgets/shift-demo.js";
import { createStepper } from "../widgets/stepper.js";
import {
  decodeArray, decodePair, encodeArray, encodePair, readParams, readStep, writeParams,
} from "../lib/urlstate.js";

const KINDS = { max: "Max pooling", avg: "Average pooling", sum: "Sum pooling" };

const payload = JSON.parse(document.getElementById("payload").textContent);
const LIMITS = payload.limits;
const PRESETS = Object.fromEntries(payload.presets.map((p) => [p.name, p]));
const $ = (id) => document.getElementById(id);
const stage = $("stage");
const controls = createControls($("controls"));
const sourceBoxes = { note: $("note"), noteText: $("note-text"), source: $("source") };

let config = null; // { input C×H×W, kind, size [h, w], stride [h, w], padding [h, w], preset }
let trace = null;
let view = null;
const stepper = createStepper($("stepper"), { onStep: drawStep });
const run = createLive({
  url: "/api/pooling",
  stage,
  errorBox: $("error"),
  onResult(data, step) {
    trace = data;
    drawAll();
    stepper.setCount(trace.steps.length, step);
  },
});

// ---------------------------------------------------------------- settings

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

function fromURL() {
  const q = readParams();
  const base = fromPreset(PRESETS[q.get("preset")] || PRESETS[payload.default_preset]);
  const input = q.has("input") ? decodeArray(q.get("input")) : null;
  if (input) base.input = asStack(input);
  if (payload.kinds.includes(q.get("kind"))) base.kind = q.get("kind");
  base.size = decodePair(q.get("size"), base.size);
  base.stride = decodePair(q.get("stride"), base.stride);
  base.padding = decodePair(q.get("padding"), base.padding);
  if (!q.has("preset") && input) base.preset = null;
  return { config: base, step: readStep(q) };
}

function saveURL(index) {
  writeParams({
    preset: config.preset || null,
    input: encodeArray(config.input),
    kind: config.kind,
    size: encodePair(config.size),
    stride: encodePair(config.stride),
    padding: encodePair(config.padding),
    step: String(index + 1),
  });
}

// ---------------------------------------------------------------- controls

function showConfig() {
  const [C, Hh, W] = shapeOf(config.input);
  $("preset").value = config.preset || "";
  controls.set({ in_c: C, in_h: Hh, in_w: W });
  controls.setPair("size", config.size);
  controls.setPair("stride", config.stride);
  controls.setPair("padding", config.padding);
  document.querySelector(`[name="kind"][value="${config.kind}"]`).checked = true;
  showSource(config.preset ? PRESETS[config.preset] : null, sourceBoxes);
  renderEditors();
}

function renderEditors() {
  const C = config.input.length;
  renderGrids($("input-editor"), config.input.map((values, c) => ({
    label: C > 1 ? `Input, channel ${c}` : "Input", values,
  })), (c, r, col, value) => { config.input[c][r][col] = value; edited(); });
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
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  renderEditors();
  edited({ now: true, keepStep: false });
}

function onLayerChange(event) {
  const before = config.size;
  config.size = controls.pair("size", 1, LIMITS.max_window);
  if (event && event.target.name.startsWith("size_")) {
    // a stride that followed the window keeps following it
    const followed = config.stride[0] === before[0] && config.stride[1] === before[1];
    if (followed) controls.setPair("stride", config.size);
  }
  config.stride = controls.pair("stride", 1, LIMITS.max_stride);
  config.padding = controls.pair("padding", 0, LIMITS.max_padding);
  config.kind = document.querySelector('[name="kind"]:checked').value;
  edited({ now: true });
}

function randomise() {
  config.input = config.input.map((g) => g.map((row) => row.map(() => randomInt(0, 9))));
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
  controls.onChange(["in_c", "in_h", "in_w"], onShapeChange);
  controls.onChange(["size_h", "size_w", "stride_h", "stride_w", "padding_h", "padding_w"],
    onLayerChange);
  document.querySelectorAll('[name="kind"]').forEach((radio) => {
    radio.addEventListener("change", onLayerChange);
  });
}

function compute(step) {
  return run({
    input: config.input, kind: config.kind, size: config.size, stride: config.stride,
    padding: config.padding,
  }, step);
}

// ---------------------------------------------------------------- drawing

// Padding is drawn as "−∞" for max (never wins) and "0" for average and sum.
function padSpecial(r, c) {
  if (!view.ring(r, c)) return null;
  return trace.kind === "max" ? "ignored" : "padding";
}

function drawAll() {
  const C = trace.padded_input.length;
  const [, Hp, Wp] = shapeOf(trace.padded_input);
  const [, oh, ow] = trace.output_shape;
  const [kh, kw] = trace.size;
  const cellIn = H.cellSize(Hp, Wp, C > 1 ? 250 : 380);
  const inScale = H.colorScale(config.input);
  view = { ring: paddingRing(Hp, Wp, trace.padding) };
  const inputDivs = plotSlots($("input-plots"), trace.padded_input.map((_, c) =>
    (C > 1 ? `channel ${c}` : `${Hp} × ${Wp}`)));
  trace.padded_input.forEach((grid, c) => {
    drawGrid(inputDivs[c], grid, { cell: cellIn, scale: inScale, special: padSpecial });
  });
  const outCell = H.cellSize(oh, ow, C > 1 ? 200 : 300);
  const outputDivs = plotSlots($("output-plots"), trace.output.map((_, c) =>
    (C > 1 ? `channel ${c}` : `${oh} × ${ow}`)));
  outputDivs.forEach((div) => drawGrid(div, blank(oh, ow), { cell: outCell, scale: inScale }));
  const [windowDiv] = plotSlots($("window-plots"), [`${kh} × ${kw}`]);
  $("output-shape").textContent = `${C} × ${oh} × ${ow}`;
  $("window-title").textContent = `Window, ${KINDS[trace.kind].split(" ")[0].toLowerCase()}`;
  Object.assign(view, {
    inputDivs, outputDivs, windowDiv, scale: inScale, filled: Array(C).fill(0), outlined: -1,
    windowCell: H.cellSize(kh, kw, 200),
  });
  drawFacts();
}

function drawStep(index) {
  const step = trace.steps[index];
  const [c, i, j] = step.position;
  const [, oh, ow] = trace.output_shape;
  const [kh, kw] = trace.size;
  const [r0, c0] = step.window;
  const shapes = windowShapes(r0, c0, kh, kw);
  if (step.winner) shapes.push(H.rect(...step.winner, ...step.winner, { color: H.COLORS.winner, width: 4 }));
  if (view.outlined !== c && view.outlined >= 0) {
    H.setShapes(view.inputDivs[view.outlined], []);
    H.setShapes(view.outputDivs[view.outlined], []);
  }
  H.setShapes(view.inputDivs[c], shapes);
  trace.output.forEach((grid, k) => {
    const filled = Math.max(0, Math.min(oh * ow, index - k * oh * ow + 1));
    if (filled !== view.filled[k]) {
      const z = revealed(grid, filled);
      H.setGrid(view.outputDivs[k], z, gridText(z));
      view.filled[k] = filled;
    }
  });
  H.setShapes(view.outputDivs[c], [H.rect(i, j, i, j, { color: H.COLORS.current, width: 4 })]);
  view.outlined = c;
  drawWindow(step, kh, kw);
  drawExpression(step);
  saveURL(index);
}

// The window's values on their own, the winner of a max outlined.
function drawWindow(step, kh, kw) {
  const [r0, c0] = step.window;
  const grid = Array.from({ length: kh }, (_, a) => step.values.slice(a * kw, (a + 1) * kw));
  const shapes = step.winner
    ? [H.rect(step.winner[0] - r0, step.winner[1] - c0, step.winner[0] - r0, step.winner[1] - c0,
      { color: H.COLORS.winner, width: 4 })]
    : [];
  drawGrid(view.windowDiv, grid, {
    cell: view.windowCell, scale: view.scale, special: (a, b) => padSpecial(r0 + a, c0 + b), shapes,
  });
}

function drawExpression(step) {
  const [c, i, j] = step.position;
  const [r0, c0] = step.window;
  const kw = trace.size[1];
  const area = trace.area;
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
  const pads = `${padded} of the ${area} cells ${padded === 1 ? "is" : "are"} padding`;
  let hint = "";
  if (padded && trace.kind === "max") {
    hint = `${pads}: max ignores ${padded === 1 ? "it" : "them"} (torch pads with −∞).`;
  } else if (padded) {
    const divisor = trace.kind === "avg" ? `, and the divisor stays ${area}` : "";
    hint = `${pads}: ${padded === 1 ? "it counts" : "they count"} as 0${divisor}.`;
  }
  $("padding-hint").textContent = hint;
}

function drawFacts() {
  renderFormula($("formula"), trace.formula);
  const [kh, kw] = trace.size;
  $("kind-title").textContent = KINDS[trace.kind];
  $("kind-fact").textContent = {
    max: "The largest value in each window wins; its cell is outlined in green. Padded cells "
      + "are −∞ to max, so they never win.",
    avg: `The mean of each window: its sum divided by ${kh}·${kw} = ${trace.area}. Padded cells `
      + "count as zeros and stay in the divisor (torch's count_include_pad=True).",
    sum: `The total of each window. Torch has no sum pooling: it is average pooling × ${kh}·${kw} `
      + `= ${trace.area} (F.avg_pool2d · ${trace.area}), padded cells counting as zeros.`,
  }[trace.kind];
  const C = trace.output.length;
  $("channel-count").textContent = `${C} channel${C === 1 ? "" : "s"}, like the input`;
}

// ---------------------------------------------------------------- start

bindControls();
const start = fromURL();
config = start.config;
showConfig();
compute(start.step);
createShiftDemo($("shift"), { demos: payload.demos, limits: LIMITS });
