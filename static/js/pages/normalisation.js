// Normalisation: a batch of feature maps (N × C maps of H × W) drawn as a grid, one request
// (POST /api/normalization) per change, then one step per statistic: the maps that share
// it are lit, its mean, variance and √(var + ε) written out, and one of its values followed
// to the output. BatchNorm shows its running statistics (train: updated with momentum;
// eval: used instead of the batch's). Every number comes from the server.

import { expressionLine } from "../draw/expression.js";
import { drawGrid } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { createControls, createLive } from "../lib/controls.js";
import { $, element, readPayload } from "../lib/dom.js";
import { factor, fmt, joinShown, parseNumber } from "../lib/format.js";
import { onLayoutChange } from "../lib/presenter.js";
import { randomInt } from "../lib/shapes.js";
import { decodeArray, encodeArray, readParams, readStep, writeParams } from "../lib/urlstate.js";
import { renderGrids } from "../widgets/grid-editor.js";
import { createStepper } from "../widgets/stepper.js";

const payload = readPayload();
const LIMITS = payload.limits;
const NAMES = { batch: "BatchNorm", layer: "LayerNorm", group: "GroupNorm", instance: "InstanceNorm" };
const AXES_TEXT = {
  batch: "one mean per channel, across the batch: the maps of a column.",
  layer: "one mean per example, across its channels: the maps of a row.",
  group: "one mean per example and group of C / G channels: part of a row.",
  instance: "one mean per map, over its own H × W values.",
};
const TEXT_FIELDS = ["eps", "gamma", "beta", "momentum", "running_mean", "running_var"];

const controls = createControls($("controls"));
const params = readParams();
let input = decodeArray(params.get("input"));
if (!input || !Array.isArray(input[0]?.[0]?.[0])) input = payload.input;
let data = null;

const stepper = createStepper($("stepper"), {
  onStep(index) {
    drawStep(index);
    writeParams({ step: index + 1 });
  },
});
const run = createLive({ url: "/api/normalization", stage: $("stage"), errorBox: $("error"), onResult: draw });

// A text field as one number or a list of numbers; null (and the field marked) if not.
function numbers(name) {
  const field = controls.field(name);
  const parts = field.value.split(/[\s,;]+/).filter(Boolean).map(parseNumber);
  const ok = parts.length > 0 && parts.every(Number.isFinite);
  field.classList.toggle("invalid", !ok);
  field.setAttribute("aria-invalid", ok ? "false" : "true");
  if (!ok) return null;
  return parts.length === 1 ? parts[0] : parts;
}

function resized(n, c, h, w) {
  const at = (a, i) => (a && a[i] !== undefined ? a[i] : undefined);
  return Array.from({ length: n }, (_, a) => Array.from({ length: c }, (_, b) =>
    Array.from({ length: h }, (_, r) => Array.from({ length: w }, (_, s) =>
      at(at(at(at(input, a), b), r), s) ?? 0))));
}

function compute(at = 0) {
  const [n, c, h, w] = [["n", LIMITS.max_batch], ["c", LIMITS.max_channels], ["h", LIMITS.max_size],
    ["w", LIMITS.max_size]].map(([name, hi]) => controls.int(name, 1, hi));
  input = resized(n, c, h, w);
  const kind = controls.choice("kind");
  document.body.dataset.kind = kind;
  const body = { input, kind, groups: controls.int("groups", 1, LIMITS.max_channels), mode: controls.choice("mode") };
  const bad = [];
  for (const name of TEXT_FIELDS) {
    body[name] = numbers(name);
    if (body[name] === null) bad.push(name.replace("_", " "));
  }
  editor();
  const fields = Object.fromEntries(TEXT_FIELDS.map((name) => [name, controls.field(name).value]));
  writeParams({ input: encodeArray(input), kind, groups: body.groups, mode: body.mode, ...fields });
  if (bad.length) {
    $("error").hidden = false;
    $("error").textContent = `Not computed: ${bad.join(", ")} must be a number or a list of numbers.`;
    $("stage").classList.add("stale");
    return null;
  }
  return run(body, at);
}

// The grid to edit: drawn again only for new numbers or a new shape, never under the typing.
let edited = "";
function editor() {
  const shape = `${input.length}x${input[0].length}x${input[0][0].length}x${input[0][0][0].length}`;
  if (shape === edited) return;
  edited = shape;
  const slices = input.flatMap((example, n) => example.map((map, c) => ({ label: `n = ${n}, c = ${c}`, values: map })));
  const C = input[0].length;
  renderGrids($("input-editor"), slices, (s, r, col, value) => {
    input[Math.floor(s / C)][s % C][r][col] = value;
    clearTimeout(editor.timer);
    $("stage").dataset.state = "loading";
    editor.timer = setTimeout(() => compute(stepper.index), 250);
  });
}

// ---------------------------------------------------------------- drawing

// An N × C grid of maps with row and column labels; returns the plot divs by [n][c].
function mapGrid(container, n, c, cell, grids, scale) {
  container.style.gridTemplateColumns = `max-content repeat(${c}, max-content)`;
  const nodes = [element("span", "corner")];
  for (let b = 0; b < c; b += 1) nodes.push(element("span", "col-label", `c = ${b}`));
  const divs = [];
  for (let a = 0; a < n; a += 1) {
    nodes.push(element("span", "row-label", `n = ${a}`));
    divs.push([]);
    for (let b = 0; b < c; b += 1) {
      const div = element("div", "plot map");
      div.dataset.n = String(a);
      div.dataset.c = String(b);
      nodes.push(div);
      divs[a].push(div);
    }
  }
  container.replaceChildren(...nodes);
  const fits = grids.flat(2); // every map's rows: one font for all of them
  divs.forEach((row, a) => row.forEach((div, b) => drawGrid(div, grids[a][b], { cell, scale, digits: 2, fits })));
  return divs;
}

function cellSize(c, w) {
  const room = $("input-maps").clientWidth - 50 - c * 10;
  return Math.max(6, Math.min(H.maxCell() - 16, Math.floor(room / (c * w))));
}

function draw(answer, at) {
  data = answer;
  const [n, c, h, w] = data.shape;
  const cell = cellSize(c, w);
  $("input-shape").textContent = `N × C × H × W = ${n} × ${c} × ${h} × ${w}`;
  mapGrid($("input-maps"), n, c, cell, input, H.colorScale(input.flat()));
  mapGrid($("output-maps"), n, c, cell, data.output, H.colorScale(data.output.flat()));
  document.querySelectorAll(".axis").forEach((chip) => {
    chip.classList.toggle("on", data.axes.some((axis) => axis.includes(chip.dataset.axis)));
  });
  $("axes-text").textContent = `${NAMES[data.kind]}: ${AXES_TEXT[data.kind]}`;
  drawRunning();
  stepper.setCount(data.mean.length, at);
}

function members(s) {
  const out = [];
  data.index.forEach((row, n) => row.forEach((id, c) => { if (id === s) out.push([n, c]); }));
  return out;
}

function drawStep(s) {
  if (!data) return;
  const maps = members(s);
  const lit = new Set(maps.map(([n, c]) => `${n},${c}`));
  document.querySelectorAll(".maps .map").forEach((div) => {
    const on = lit.has(`${div.dataset.n},${div.dataset.c}`);
    div.classList.toggle("member", on);
    div.classList.toggle("dim", !on);
  });
  const values = maps.flatMap(([n, c]) => input[n][c].flat());
  const mean = data.mean[s];
  const eval_ = data.mode === "eval";
  const where = maps.length === 1 ? `map (n = ${maps[0][0]}, c = ${maps[0][1]})`
    : `${maps.length} maps: ${maps.map(([n, c]) => `(${n}, ${c})`).join(", ")}`;
  $("position").textContent = `Statistic ${s + 1} of ${data.mean.length}: ${where}, ${values.length} values`;
  const lines = eval_
    ? [expressionLine("mean", `running_mean[${s}]`, fmt(mean)), expressionLine("var", `running_var[${s}]`, fmt(data.var[s]))]
    : [expressionLine("mean", `(${joinShown(values.map(factor), " + ")}) / ${values.length}`, fmt(mean)),
      expressionLine("var", `Σ (x − ${factor(mean)})² / ${values.length}`, fmt(data.var[s]))];
  lines.push(expressionLine("std", `√(${fmt(data.var[s])} + ${fmt(data.eps, 10)})`, fmt(data.std[s])));
  if (data.running && !eval_) {
    const r = data.running;
    const m = r.momentum;
    lines.push(expressionLine("running_mean", `${fmt(1 - m)}·${factor(r.mean_before[s])} + ${fmt(m)}·${factor(mean)}`, fmt(r.mean_after[s])));
    lines.push(expressionLine("running_var", `${fmt(1 - m)}·${factor(r.var_before[s])} + ${fmt(m)}·${factor(r.unbiased_var[s])}`, fmt(r.var_after[s]), "(unbiased variance)"));
  }
  $("expression").replaceChildren(...lines);
  const [n, c] = maps[0];
  const x = input[n][c][0][0];
  const xhat = data.normalized[n][c][0][0];
  $("example").replaceChildren(
    expressionLine(`x̂[${n}, ${c}, 0, 0]`, `(${fmt(x)} − ${factor(mean)}) / ${fmt(data.std[s])}`, fmt(xhat)),
    expressionLine(`y[${n}, ${c}, 0, 0]`, `${factor(data.gamma[c])}·${factor(xhat)} + ${factor(data.beta[c])}`, fmt(data.output[n][c][0][0])),
  );
  document.querySelectorAll("#running-table tr[data-c]").forEach((tr) => {
    tr.classList.toggle("current", data.kind === "batch" && Number(tr.dataset.c) === s);
  });
}

function drawRunning() {
  const r = data.running;
  if (!r) return;
  const train = data.mode === "train";
  $("running-text").textContent = train
    ? `Train mode: each channel's batch mean and variance normalise it, and the running ones `
      + `move towards them: running ← (1 − ${fmt(r.momentum)})·running + ${fmt(r.momentum)}·batch, `
      + `with the unbiased variance (× n / (n − 1), n = N·H·W = ${data.values[0]}).`
    : "Eval mode: the running statistics are used as the mean and the variance, whatever the "
      + "batch holds, and nothing is updated.";
  const head = ["c", "mean before", train ? "batch mean" : "", "mean after", "var before", train ? "batch var (unbiased)" : "", "var after"];
  const rows = r.mean_before.map((_, c) => [c, r.mean_before[c], train ? data.mean[c] : null, r.mean_after[c],
    r.var_before[c], train ? r.unbiased_var[c] : null, r.var_after[c]]);
  const table = $("running-table");
  const tr = (cells, tag, c) => {
    const row = element("tr");
    if (c !== undefined) row.dataset.c = String(c);
    cells.forEach((v, i) => { if (head[i] !== "") row.append(element(tag, "", tag === "th" ? v : fmt(v))); });
    return row;
  };
  table.replaceChildren(tr(head, "th"), ...rows.map((cells, c) => tr(cells, "td", c)));
}

// ---------------------------------------------------------------- start

function randomInput() {
  edited = ""; // new numbers in every cell
  input = input.map((e) => e.map((m) => m.map((row) => row.map(() => randomInt(0, 9)))));
  compute();
}

const shape = [input.length, input[0].length, input[0][0].length, input[0][0][0].length];
controls.set({ n: shape[0], c: shape[1], h: shape[2], w: shape[3] });
controls.setChoice("kind", Object.keys(NAMES).includes(params.get("kind")) ? params.get("kind") : "batch");
controls.setChoice("mode", params.get("mode") === "eval" ? "eval" : "train");
if (params.has("groups")) controls.set({ groups: params.get("groups") });
for (const name of TEXT_FIELDS) if (params.has(name)) controls.set({ [name]: params.get(name) });
controls.onChange(["kind", "mode", "n", "c", "h", "w", "groups", ...TEXT_FIELDS], () => compute(0));
$("random").addEventListener("click", randomInput);
onLayoutChange(() => data && draw(data, stepper.index)); // presenter mode, a resized window
compute(readStep(params));
