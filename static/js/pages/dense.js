// From a dense layer to a convolution: one request (POST /api/dense-to-convolution) gives
// the three stages of the derivation (dense, translation invariant, local) and the
// convolution at the end; the page shows one stage at a time, an output pixel at a time:
// its weights over the input (a row of the layer's matrix, laid out as the image), the
// input, the output, and the sum written out. Every number comes from the server; the page
// only lays them out (a matrix row as an H×W grid, the input padded with zeros by Δ).

import { expressionLine } from "../draw/expression.js";
import { drawGrid, paddingRing, windowShapes } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { createControls, createLive } from "../lib/controls.js";
import { $, readPayload } from "../lib/dom.js";
import { fmt, productsText } from "../lib/format.js";
import { onLayoutChange } from "../lib/presenter.js";
import { randomInt, resize } from "../lib/shapes.js";
import { decodeArray, encodeArray, readParams, readStep, writeParams } from "../lib/urlstate.js";
import { renderGrids } from "../widgets/grid-editor.js";
import { createStepper } from "../widgets/stepper.js";

const payload = readPayload();
const LIMITS = payload.limits;
const STAGES = ["dense", "shared", "local", "conv"];
const TEXT = {
  dense: "Every output pixel has its own weights for every input pixel: W[i, j, k, l]. Step "
    + "through the outputs: the weights change completely from one pixel to the next.",
  shared: "Translation invariance: a weight may depend only on the offset (a, b) = (k − i, l − j), "
    + "W[i, j, k, l] = V[k − i, l − j]. Here V[a, b] is the mean of W over every entry with that "
    + "offset (the nearest such layer to W). Step through the outputs: the same pattern moves "
    + "with the pixel.",
  local: "Locality: offsets farther than Δ get no weight, V[a, b] = 0 for |a| > Δ or |b| > Δ. "
    + "What is left of each row is a small patch around the pixel.",
  conv: "What is left is a (2Δ + 1)×(2Δ + 1) kernel sliding over the input padded with Δ zeros "
    + "on every side: F.conv2d(x, kernel, padding=Δ), the same output as the local dense layer.",
};

const panel = $("controls");
const controls = createControls(panel);
const stages = createControls($("stage")); // the stage choice, above the figures
const params = readParams();
let input = decodeArray(params.get("input")) || payload.input;
if (!Array.isArray(input[0])) input = payload.input;
let seed = Number.parseInt(params.get("seed") || "0", 10) || 0;
let stage = STAGES.includes(params.get("stage")) ? params.get("stage") : "dense";
let data = null;
let view = null;

const stepper = createStepper($("stepper"), {
  onStep(index) {
    drawStep(index);
    writeParams({ step: index + 1 });
  },
});
const run = createLive({ url: "/api/dense-to-convolution", stage: $("stage"), errorBox: $("error"), onResult: draw });

function compute(at = stepper.index) {
  const [h, w] = [controls.int("in_h", 1, LIMITS.max_size), controls.int("in_w", 1, LIMITS.max_size)];
  input = resize(input, h, w);
  const body = { input, delta: controls.int("delta", 0, LIMITS.max_size - 1), init: controls.field("init").value, seed };
  writeParams({ input: encodeArray(input), delta: body.delta, init: body.init, seed, stage });
  $("seed-text").textContent = body.init === "random"
    ? `W drawn with seed ${seed}.` : `Kernel plus integer noise −1…1, drawn with seed ${seed}.`;
  editor();
  return run(body, at);
}

// The grid to edit: drawn again only for new numbers or a new shape, never under the typing.
let edited = "";
function editor() {
  const shape = `${input.length}x${input[0].length}`;
  if (shape === edited) return;
  edited = shape;
  renderGrids($("input-editor"), [{ label: "Input", values: input }], (s, r, c, value) => {
    input[r][c] = value;
    clearTimeout(editor.timer);
    $("stage").dataset.state = "loading";
    editor.timer = setTimeout(() => compute(), 250);
  });
}

// ---------------------------------------------------------------- drawing

const row = (matrix, index, w) => {
  const flat = matrix[index];
  return Array.from({ length: flat.length / w }, (_, r) => flat.slice(r * w, (r + 1) * w));
};

// Cells so that the three figures fit side by side, or one under another on a phone.
function layout(cols, weightCols) {
  const figures = $("stage").querySelector(".figures");
  const width = $("stage").clientWidth - 8;
  const across = cols * 2 + weightCols;
  const cell = Math.min(H.maxCell(), Math.floor((width - 2 * 60 - 3 * 12) / across));
  const wrap = cell < 22;
  figures.classList.toggle("wrap", wrap);
  return wrap ? Math.min(H.maxCell(), Math.floor((width - 12) / Math.max(cols, weightCols))) : cell;
}

function draw(answer, at) {
  data = answer;
  const [h, w] = data.size;
  const counts = Object.fromEntries(data.stages.map((s) => [s.name, s.parameters]));
  counts.conv = counts.local;
  for (const name of STAGES) {
    document.querySelector(`[data-count="${name}"]`).textContent = `${counts[name].toLocaleString("en")} parameters`;
  }
  stages.setChoice("stage", stage);
  drawStage(at);
  stepper.setCount(h * w, at);
}

function current() {
  return data.stages.find((s) => s.name === (stage === "conv" ? "local" : stage));
}

function drawStage() {
  const [h, w] = data.size;
  const s = current();
  const conv = stage === "conv";
  const [ph, pw] = conv ? s.padding : [0, 0];
  const kernel = s.kernel || null;
  const cell = layout(w + 2 * pw, conv ? kernel[0].length : w);
  const shown = conv ? padded(data.input, ph, pw) : data.input;
  $("stage-text").textContent = TEXT[stage];
  $("weights-op").textContent = conv ? "⋆" : "·";
  $("weights-title").textContent = conv ? `Kernel ${kernel.length} × ${kernel[0].length}` : "Weights of this output";
  $("input-title").textContent = conv ? `Input, padded by ${ph}` : `Input ${h} × ${w}`;
  $("output-title").textContent = conv ? "F.conv2d output" : `Output ${h} × ${w}`;
  view = {
    cell,
    conv,
    ph,
    pw,
    weightScale: H.colorScale([conv ? kernel : s.weights]),
    inputScale: H.colorScale([data.input]),
    ring: paddingRing(h + 2 * ph, w + 2 * pw, [ph, pw]),
  };
  drawGrid($("input-plot"), shown, {
    cell, scale: view.inputScale, special: conv ? (r, c) => (view.ring(r, c) ? "padding" : null) : null,
  });
  const output = conv ? s.convolution : s.output;
  drawGrid($("output-plot"), output, { cell, scale: H.colorScale([output]), digits: 2 });
  if (conv) drawGrid($("weights-plot"), kernel, { cell, scale: view.weightScale, digits: 2 });
  drawFacts(s);
  drawLayerViews(s);
  document.querySelectorAll(".stage-choice").forEach((label) => {
    label.classList.toggle("current", label.dataset.stage === stage);
  });
  $("stage").dataset.stage = stage;
}

function padded(grid, ph, pw) {
  const w = grid[0].length;
  const zeros = () => Array(w + 2 * pw).fill(0);
  return [
    ...Array.from({ length: ph }, zeros),
    ...grid.map((r) => [...Array(pw).fill(0), ...r, ...Array(pw).fill(0)]),
    ...Array.from({ length: ph }, zeros),
  ];
}

function drawStep(index) {
  if (!data) return;
  const [, w] = data.size;
  const i = Math.floor(index / w);
  const j = index % w;
  const s = current();
  const { cell } = view;
  let terms;
  if (view.conv) {
    const k = s.kernel;
    const [kh, kw] = [k.length, k[0].length];
    const shown = padded(data.input, view.ph, view.pw);
    H.setShapes($("input-plot"), windowShapes(i, j, kh, kw));
    terms = k.flatMap((r, a) => r.map((v, b) => [v, shown[i + a][j + b]]));
  } else {
    const weights = row(s.weights, index, w);
    drawGrid($("weights-plot"), weights, {
      cell, scale: view.weightScale, shapes: [H.mark(i, j)], digits: 2, fits: s.weights,
    });
    const near = stage === "local"
      ? windowShapes(Math.max(0, i - data.delta), Math.max(0, j - data.delta),
        Math.min(data.size[0] - 1, i + data.delta) - Math.max(0, i - data.delta) + 1,
        Math.min(w - 1, j + data.delta) - Math.max(0, j - data.delta) + 1)
      : [];
    H.setShapes($("input-plot"), [...near, H.mark(i, j, H.COLORS.winner)]);
    terms = weights.flatMap((r, k) => r.map((v, l) => [v, data.input[k][l]]));
  }
  H.setShapes($("output-plot"), [H.mark(i, j)]);
  const value = (view.conv ? s.convolution : s.output)[i][j];
  const nonzero = terms.filter(([v]) => v !== 0);
  const left = terms.length - nonzero.length;
  const after = left ? `(${left} term${left === 1 ? "" : "s"} with weight 0 left out)` : "";
  $("expression").replaceChildren(expressionLine(`h[${i}, ${j}]`, nonzero.length ? productsText(nonzero) : "0", fmt(value), after));
  $("position").textContent = view.conv
    ? `Output row ${i}, column ${j}: the kernel over the padded input's rows ${i}…${i + s.kernel.length - 1}`
    : `Output row ${i}, column ${j}: weight × input for every input pixel (k, l)`;
  if (view.matrixDiv) {
    const n = data.size[0] * w;
    H.setShapes(view.matrixDiv, [H.rect(index, 0, index, n - 1, { width: 2 })]);
  }
  if (view.offsetsDiv && !view.conv) {
    const [h] = data.size;
    H.setShapes(view.offsetsDiv, [
      ...view.offsetShapes,
      H.rect(h - 1 - i, w - 1 - j, 2 * h - 2 - i, 2 * w - 2 - j, { color: H.COLORS.winner, width: 2, dash: "dot" }),
    ]);
  }
}

function drawFacts(s) {
  $("params").textContent = s.count;
  const [h, w] = data.size;
  const words = {
    dense: `H·W outputs × H·W inputs: one weight per pair (a ${h * w} × ${h * w} matrix).`,
    shared: `One weight per offset: a from −${h - 1} to ${h - 1}, b from −${w - 1} to ${w - 1}.`,
    local: `Only offsets |a|, |b| ≤ Δ = ${data.delta} keep a weight.`,
    conv: "The kernel's weights, and no others (no bias here, as in the notes).",
  };
  $("params-text").textContent = words[stage];
  const check = {
    dense: () => "Not in general: every output pixel has weights of its own, unrelated to its "
      + "neighbours'. Go on to translation invariance.",
    shared: () => `Yes already: the same output as F.conv2d(x, V, padding=(${s.padding.join(", ")})) `
      + `with the whole ${s.offsets.length} × ${s.offsets[0].length} V as the kernel; `
      + `largest difference ${fmt(s.difference, 20)}.`,
    local: () => `Yes: the same output as F.conv2d(x, kernel, padding=(${s.padding.join(", ")})) `
      + `with the ${s.kernel.length} × ${s.kernel[0].length} kernel; largest difference ${fmt(s.difference, 20)}.`,
    conv: () => "F.conv2d's output equals the local dense layer's (step 3): largest difference "
      + `${fmt(s.difference, 20)}.`,
  };
  $("check-text").textContent = check[stage]();
}

function drawLayerViews(s) {
  const n = data.size[0] * data.size[1];
  const box = Math.min(520, $("matrix-plot").parentElement.clientWidth - 34);
  const matrixCell = Math.max(3, Math.min(16, Math.floor(box / n)));
  view.matrixDiv = $("matrix-plot");
  $("matrix-shape").textContent = `${n} × ${n}`;
  drawGrid(view.matrixDiv, s.weights, { cell: matrixCell, scale: H.colorScale([s.weights]) });
  const offsets = $("offsets-view");
  offsets.hidden = !s.offsets;
  view.offsetsDiv = s.offsets ? $("offsets-plot") : null;
  if (!s.offsets) return;
  const [h, w] = data.size;
  const rows = s.offsets.length;
  const cols = s.offsets[0].length;
  $("offsets-shape").textContent = `${rows} × ${cols}: a = −${h - 1}…${h - 1}, b = −${w - 1}…${w - 1}`;
  const d = data.delta;
  view.offsetShapes = stage === "shared" ? [] : [H.rect(Math.max(0, h - 1 - d), Math.max(0, w - 1 - d),
    Math.min(rows - 1, h - 1 + d), Math.min(cols - 1, w - 1 + d))];
  $("offsets-text").textContent = stage === "shared"
    ? `Each V[a, b] is the mean of the entries of W with that offset: ${h * w} of them for `
      + "(0, 0), the centre, down to 1 in each corner. The dotted square is what the current "
      + "output pixel sees of V."
    : `Outside the orange square (|a|, |b| ≤ ${d}) every weight is 0; inside is the kernel.`;
  const room = Math.min(460, offsets.clientWidth - 34);
  const cell = Math.max(8, Math.min(H.maxCell(), Math.floor(room / cols)));
  drawGrid(view.offsetsDiv, s.offsets, {
    cell, scale: H.colorScale([s.offsets]), digits: 2, shapes: view.offsetShapes,
  });
}

// ---------------------------------------------------------------- start

function randomInput() {
  edited = ""; // new numbers in every cell
  input = input.map((r) => r.map(() => randomInt(0, 9)));
  compute();
}

controls.set({ in_h: input.length, in_w: input[0].length, delta: params.get("delta") || 1 });
if (["random", "blur", "edge"].includes(params.get("init"))) controls.field("init").value = params.get("init");
stages.setChoice("stage", stage);
controls.onChange(["in_h", "in_w", "delta", "init"], () => compute(0));
stages.onChange(["stage"], () => {
  stage = stages.choice("stage");
  writeParams({ stage }, { push: true });
  if (data) {
    drawStage();
    drawStep(stepper.index);
  }
});
$("random").addEventListener("click", randomInput);
$("redraw").addEventListener("click", () => {
  seed = (seed + 1) % LIMITS.max_seed;
  compute();
});
onLayoutChange(() => data && draw(data, stepper.index)); // presenter mode, a resized window
compute(readStep(params));
