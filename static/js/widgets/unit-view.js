// How one activation of a network was computed, written out (from
// GET /api/models/{name}/layers/{layer}/unit):
// - a convolution unit, stepped through with the playground's stepper (stepper.js): one
//   step per input channel (its window of the layer's input, the kernel slice, their
//   products and partial sum, and the running total), then the bias (the pre-activation),
//   then each elementwise layer after it (BatchNorm, the activation function);
// - a dense unit: inputs × weights, the bias and the activation, with the largest
//   contributions and, after a flatten, the map position each input comes from;
// - pooling (the window and its max or mean), a flatten index, a residual sum;
// - softmax: logits → exponentials → their sum → probabilities.
//
//   const view = createUnitView(elements, { layers, inputShape, playground });
//   view.show(unit);
//
// `playground`: the convolution playground's limits (the page's payload has them from the
// server); a unit within them gets a link that opens its window and kernel there.

import { chartLayout, drawChart } from "../draw/charts.js";
import { expressionLine } from "../draw/expression.js";
import { drawGrid, plotSlots, readableDigits, readableFont } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { factor, fmt, joinShown, productsText } from "../lib/format.js";
import { isPresenting } from "../lib/presenter.js";
import { encodeArray } from "../lib/urlstate.js";
import { createStepper } from "./stepper.js";

const GRID_BOX = 260; // pixels for the larger side of a window grid
const NARROW_BOX = [1400, 220]; // under this screen width (a projector's 1280), this: the sum needs the room
// Presenter mode: the window and the kernel, one under the other beside the sum, as large
// as the screen's height under the stepper allows (and at most this wide).
const PRESENTED_WIDTH = 330;
const CAPTION = 50; // a grid's caption (two lines) and the gap under it
const BOTTOM = 14; // the dialog's padding under the grids
const CHART_HEIGHT = 220;
const CHART_MIN = 240; // pixels: a phone's width
const TOP_CONTRIBUTIONS = 6;

const ACTIVATION_NAMES = {
  Tanh: "tanh", ReLU: "ReLU", ReLU6: "ReLU6", Sigmoid: "sigmoid", LeakyReLU: "leaky ReLU",
  ELU: "ELU", GELU: "GELU", SiLU: "SiLU", Hardswish: "hard swish",
};

function describeStep(step, before) {
  if (step.type.startsWith("BatchNorm")) {
    const n = step.numbers; // this channel's running mean and variance, ε, γ and β
    const text = n
      ? `(${fmt(before)} − ${factor(n.mean)}) / √(${fmt(n.var)} + ${fmt(n.eps, 6)}) · ${factor(n.gamma)} + ${factor(n.beta)}`
      : `(${fmt(before)} − mean) / √(var + ε) · γ + β`;
    return { label: "BatchNorm", text, value: step.value };
  }
  if (step.type === "Dropout" || step.type === "Identity") {
    return { label: step.type, text: `${fmt(before)} (unchanged when predicting)`, value: step.value };
  }
  const name = ACTIVATION_NAMES[step.type] || step.type;
  return { label: name, text: `${name}(${fmt(before)})`, value: step.value };
}

// A probability or an exponential: six decimals, or powers of ten for the tiny ones.
function tiny(value) {
  if (value === 0 || Math.abs(value) >= 1e-4) return fmt(value, 6);
  return value.toExponential(2).replace("e-", "e−").replace("e+", "e");
}

function span(first, count, step) {
  return count === 1 ? `${first}` : `${first}–${first + (count - 1) * step}`;
}

function where(position) {
  return position.length === 3
    ? `channel ${position[0]}, row ${position[1]}, column ${position[2]}` : `unit ${position[0]}`;
}

export function createUnitView(el, { layers, inputShape, playground }) {
  // conv: the unit stepped through; shown: the unit shown, with the options it was shown with
  const view = { el, layers, inputShape, playground, conv: null, cell: null, shown: null };
  view.stepper = createStepper(el.stepper, { onStep: (index) => drawConvStep(view, index) });
  return {
    show(unit, { chosen = null } = {}) {
      view.shown = [unit, { chosen }];
      reset(view);
      if (unit.kind === "conv") showConv(view, unit);
      else if (unit.kind === "dense") showDense(view, unit);
      else if (unit.kind === "pool") showPool(view, unit);
      else showOther(view, unit);
      if (unit.softmax) showSoftmax(view, unit.softmax, chosen === null ? unit.position[0] : chosen);
    },
    // The screen changed (presenter mode, a resize): the unit drawn again at its step.
    refit() {
      if (!view.shown) return;
      const at = view.stepper.index;
      this.show(...view.shown);
      if (view.conv && at !== view.stepper.index) view.stepper.go(at, false);
    },
    get stepper() { return view.stepper; },
  };
}

function previousLayer(layers, name) {
  const index = layers.findIndex((row) => row.name === name);
  return index > 0 ? layers[index - 1].name : "input";
}

// (rows, columns) of the maps a layer reads: the previous layer's, or the input's.
function inputSize(view, name) {
  const index = view.layers.findIndex((row) => row.name === name);
  return (index > 0 ? view.layers[index - 1].output_shape : view.inputShape).slice(-2);
}

function reset(view) {
  view.conv = null;
  view.cell = null; // the grids' cell: chosen when the unit is first drawn
  view.stepper.setCount(0);
  view.el.stepperBox.hidden = true;
  view.el.grids.replaceChildren();
  view.el.expression.replaceChildren();
  view.el.expression.hidden = false;
  view.el.table.replaceChildren();
  view.el.note.replaceChildren();
  window.Plotly.purge(view.el.chart);
  view.el.chart.hidden = true;
}

// ------------------------------------------------------------ convolution

function showConv(view, unit) {
  const c = unit.conv;
  const source = previousLayer(view.layers, c.layer);
  const [kh, kw] = [c.kernel[0].length, c.kernel[0][0].length];
  const channels = c.input_channels.length;
  const after = c.after.map((s) => ACTIVATION_NAMES[s.type] || s.type).join(", then ");
  view.el.title.textContent = `How ${c.layer}'s output at ${where(c.position)} was computed`;
  view.el.summary.textContent = `${channels === 1 ? "One input channel" : `${channels} input channels`} of ${source}`
    + `, each a ${kh} × ${kw} window times the kernel's slice, summed, plus the bias`
    + `${after ? `; then ${after}` : ""}.${unit.via ? ` (You clicked ${unit.layer}, which follows ${unit.via}.)` : ""}`;
  const row = view.layers.find((r) => r.name === c.layer);
  view.conv = { unit, c, source, running: [], hasBias: row.hyperparameters.bias !== false };
  let total = 0;
  view.conv.running = c.partials.map((p) => (total += p));
  view.el.stepperBox.hidden = false;
  drawPartials(view, c, -1);
  view.el.chart.hidden = false;
  playgroundLink(view, c);
  const steps = channels + 1 + c.after.length;
  const last = steps - 1;
  view.stepper.setCount(steps, last);
}

// Step `index`: input channel `index` (the last one once past them), then the bias, then
// the layers after it.
function drawConvStep(view, index) {
  if (!view.conv) return;
  const { c } = view.conv;
  const k = Math.min(index, c.input_channels.length - 1);
  drawConvWindow(view, k);
  view.el.expression.replaceChildren(...convLines(view, index, k));
  drawPartials(view, c, k);
}

// Where `element` is inside the dialog's content (its top and bottom), and the room's bottom.
function inDialog(dialog, element) {
  const box = element.getBoundingClientRect();
  const top = dialog.getBoundingClientRect().top - dialog.scrollTop;
  return { top: box.top - top, bottom: box.bottom - top, room: dialog.clientHeight - BOTTOM };
}

// Pixels per cell for `count` grids of rows × cols, one under another: GRID_BOX for the
// larger side; in presenter mode, what the screen leaves under the stepper.
function gridCell(view, rows, cols, count) {
  const dialog = view.el.grids.closest("dialog");
  if (!isPresenting() || !dialog) {
    return H.cellSize(rows, cols, window.innerWidth < NARROW_BOX[0] ? NARROW_BOX[1] : GRID_BOX);
  }
  const { top, room } = inDialog(dialog, view.el.grids.parentElement); // the grids may be empty yet
  const cell = Math.min(Math.floor((room - top - count * CAPTION) / (count * rows)), Math.floor(PRESENTED_WIDTH / cols));
  return Math.max(8, Math.min(H.maxCell(), cell));
}

// Draw the unit's grids with `draw(cell)` (a promise). The cell is chosen once per unit; in
// presenter mode, when the grids end below the screen once drawn (their captions wrap as
// they wrap), they are drawn once more, smaller.
async function sizedGrids(view, rows, cols, count, draw) {
  const first = view.cell === null;
  if (first) view.cell = gridCell(view, rows, cols, count);
  await draw(view.cell);
  const dialog = view.el.grids.closest("dialog");
  if (!first || !isPresenting() || !dialog) return;
  const { bottom, room } = inDialog(dialog, view.el.grids);
  if (bottom <= room) return;
  view.cell = Math.max(8, view.cell - Math.ceil((bottom - room) / (count * rows)));
  await draw(view.cell);
}

// A grid's numbers at the most decimals (3 at most) that print readably in its cells.
function gridOptions(cell, grids) {
  return { cell, digits: readableDigits(cell, grids.flat()), minFont: readableFont(), strict: true };
}

// Input channel k's window beside the kernel's slice k.
function drawConvWindow(view, k) {
  const { c, source } = view.conv;
  const window = c.window[k];
  const kernel = c.kernel[k];
  const rows = window.length;
  const cols = window[0].length;

  const [top, left] = c.window_origin;
  const rowText = rows === 1 ? "row" : "rows";
  const colText = cols === 1 ? "column" : "columns";
  const divs = plotSlots(view.el.grids, [
    `${source}, channel ${c.input_channels[k]}: ${rowText} ${span(top, rows, c.dilation[0])}, ${colText} ${span(left, cols, c.dilation[1])}`,
    `kernel, slice ${k} (output channel ${c.position[0]})`,
  ]);
  const [height, width] = inputSize(view, c.layer);
  const padding = (r, col) => {
    const rr = top + r * c.dilation[0];
    const cc = left + col * c.dilation[1];
    return rr < 0 || cc < 0 || rr >= height || cc >= width ? "padding" : null;
  };
  sizedGrids(view, rows, cols, 2, (cell) => {
    const numbers = gridOptions(cell, [window, kernel]);
    return Promise.all([
      drawGrid(divs[0], window, { ...numbers, scale: H.colorScale([window]), special: padding }),
      drawGrid(divs[1], kernel, { ...numbers, scale: H.colorScale([kernel]) }),
    ]);
  });
}

// The written-out lines up to step `index`: channel k's products, the running total, the
// bias, and each layer after it reached so far.
function convLines(view, index, k) {
  const { c, running, hasBias } = view.conv;
  const channels = c.input_channels.length;
  const window = c.window[k];
  const kernel = c.kernel[k];
  const terms = window.flatMap((row, r) => row.map((x, col) => [x, kernel[r][col]]));
  const sofar = joinShown(c.partials.slice(0, k + 1).map(factor), " + ");
  const lines = [
    expressionLine(`channel ${c.input_channels[k]}`, productsText(terms), fmt(c.partials[k])),
    expressionLine("running total", sofar, fmt(running[k])),
  ];
  if (index >= channels) {
    const pre = hasBias
      ? expressionLine("+ bias", `${fmt(running[channels - 1])} + ${factor(c.bias)}`, fmt(c.value), "(pre-activation)")
      : expressionLine("no bias", fmt(running[channels - 1]), fmt(c.value), "(the layer has none: BatchNorm follows)");
    pre.classList.add("expr-total");
    lines.push(pre);
  }
  let before = c.value;
  c.after.slice(0, Math.max(0, index - channels)).forEach((step) => {
    const shown = describeStep(step, before);
    lines.push(expressionLine(shown.label, shown.text, fmt(step.value)));
    before = step.value;
  });
  return lines;
}

function drawPartials(view, c, current) {
  const x = c.input_channels.map(String);
  const trace = {
    type: "bar", x, y: c.partials,
    marker: { color: c.partials.map((_, i) => (i === current ? "#f59e0b" : (c.partials[i] < 0 ? "#2563eb" : "#dc2626"))) },
    hovertemplate: "input channel %{x}: %{y:.4f}<extra></extra>",
  };
  const width = Math.max(CHART_MIN, view.el.chart.parentElement.clientWidth - 40);
  drawChart(view.el.chart, [trace], chartLayout(width, CHART_HEIGHT, {
    xaxis: { title: { text: "input channel: its share of the sum", font: { size: 14 } }, type: "category",
      showticklabels: x.length <= 40 },
    margin: { l: 54, r: 10, t: 8, b: 48 },
    bargap: x.length > 100 ? 0 : 0.2,
  }));
}

function playgroundLink(view, c) {
  const channels = c.input_channels.length;
  const [kh, kw] = [c.kernel[0].length, c.kernel[0][0].length];
  const limits = view.playground;
  if (channels > limits.max_channels || Math.max(kh, kw) > limits.max_kernel) return;
  const round = (a) => a.map((m) => m.map((row) => row.map((v) => Number(v.toFixed(4)))));
  const params = new URLSearchParams({
    input: encodeArray(round(c.window)),
    kernel: encodeArray([round(c.kernel)]),
    bias: String(Number(c.bias.toFixed(4))),
    stride: "1", padding: "0", dilation: "1", flip: "0",
  });
  const link = document.createElement("a");
  link.href = `/convolution?${params}`.replace(/%3A/g, ":").replace(/%2C/g, ",");
  link.textContent = "Open this window and kernel in the convolution playground (rounded to 4 decimals)";
  view.el.note.replaceChildren(link);
}

// ------------------------------------------------------------ dense, softmax, others

function sourceOf(dense, i) {
  const s = dense.source;
  if (!s || s.shape.length !== 3) return "";
  const [, h, w] = s.shape;
  return ` = ${s.from}[${Math.floor(i / (h * w))}, ${Math.floor(i / w) % h}, ${i % w}]`;
}

function showDense(view, unit) {
  const d = unit.dense;
  const n = d.inputs.length;
  view.el.title.textContent = `How ${d.layer}'s output ${d.index} was computed`;
  const flat = d.source ? ` (the ${d.source.shape.join(" × ")} maps of ${d.source.from}, flattened into one vector)` : "";
  view.el.summary.textContent = `A dense layer: each of its ${n} inputs${flat} times its own weight, `
    + "all added up, plus the bias"
    + `${d.after.length ? `; then ${d.after.map((s) => ACTIVATION_NAMES[s.type] || s.type).join(", ")}` : ""}.`
    + `${unit.via ? ` (You clicked ${unit.layer}, which follows ${unit.via}.)` : ""}`;
  const terms = d.inputs.map((x, i) => [x, d.weights[i]]);
  const sum = d.products.reduce((a, b) => a + b, 0);
  const lines = [
    expressionLine(`${n} inputs`, productsText(terms), fmt(sum)),
    expressionLine("+ bias", `${fmt(sum)} + ${factor(d.bias)}`, fmt(d.value), "(pre-activation)"),
  ];
  let before = d.value;
  d.after.forEach((step) => {
    const shown = describeStep(step, before);
    lines.push(expressionLine(shown.label, shown.text, fmt(step.value)));
    before = step.value;
  });
  view.el.expression.replaceChildren(...lines);
  const order = d.products.map((p, i) => [Math.abs(p), i]).sort((a, b) => b[0] - a[0]).slice(0, TOP_CONTRIBUTIONS);
  view.el.table.replaceChildren(table(
    ["input", "value x", "weight w", "x × w"],
    order.map(([, i]) => [`${i}${sourceOf(d, i)}`, fmt(d.inputs[i]), fmt(d.weights[i]), fmt(d.products[i])]),
    `The ${order.length} largest contributions (of ${n})`,
  ));
  const trace = {
    type: "bar", x: d.products.map((_, i) => i), y: d.products,
    marker: { color: d.products.map((p) => (p < 0 ? "#2563eb" : "#dc2626")) },
    customdata: d.products.map((_, i) => `input ${i}${sourceOf(d, i)}`),
    hovertemplate: "%{customdata}: x × w = %{y:.4f}<extra></extra>",
  };
  view.el.chart.hidden = false;
  const width = Math.max(CHART_MIN, view.el.chart.parentElement.clientWidth - 40);
  drawChart(view.el.chart, [trace], chartLayout(width, CHART_HEIGHT, {
    xaxis: { title: { text: "input: its product with its weight", font: { size: 14 } } },
    margin: { l: 54, r: 10, t: 8, b: 48 },
    bargap: n > 200 ? 0 : 0.15,
  }));
}

function showSoftmax(view, softmax, chosen) {
  const rows = softmax.rows;
  const all = rows.length === softmax.classes;
  const pick = rows.find((r) => r.index === chosen) || rows.reduce((a, b) => (b.probability > a.probability ? b : a));
  const part = document.createElement("div");
  const heading = document.createElement("h3");
  heading.textContent = "Softmax: from logits to probabilities";
  const text = document.createElement("p");
  text.className = "unit-summary";
  text.textContent = "Each logit z minus the largest (the same probabilities, no overflow), "
    + "exponentiated, divided by the sum of all of them: the probabilities add up to 1.";
  const body = rows.map((r) => [
    `${r.label}${softmax.classes > 20 ? ` (${r.index})` : ""}`, fmt(r.logit), fmt(r.logit - softmax.max),
    tiny(r.exp), tiny(r.probability),
  ]);
  const caption = all ? `All ${softmax.classes} classes`
    : `The ${rows.length} most probable of ${softmax.classes} classes`;
  const t = table(["class", "logit z", "z − max", "e^(z − max)", "probability"], body, caption);
  t.querySelectorAll("tbody tr").forEach((tr, i) => tr.classList.toggle("chosen", rows[i] === pick));
  const foot = t.createTFoot().insertRow();
  ["sum over all classes", "", "", fmt(softmax.sum, 6), "1"].forEach((v) => { foot.insertCell().textContent = v; });
  const box = document.createElement("div");
  box.className = "expression";
  box.append(expressionLine(pick.label, `e^(${fmt(pick.logit)} − ${factor(softmax.max)}) / ${fmt(softmax.sum, 6)} = ${tiny(pick.exp)} / ${fmt(softmax.sum, 6)}`, tiny(pick.probability)));
  part.className = "softmax";
  part.append(heading, text, box, t);
  view.el.table.append(part);
}

function showPool(view, unit) {
  const p = unit.pool;
  view.el.title.textContent = `How ${p.layer}'s output at ${where(p.position)} was computed`;
  const source = previousLayer(view.layers, p.layer);
  const [rows, cols] = [p.window.length, p.window[0].length];
  view.el.summary.textContent = `${p.kind === "max" ? "Max" : "Average"} pooling: the ${rows} × ${cols} `
    + `window of ${source}, channel ${p.position[0]}, from row ${p.window_origin[0]}, column `
    + `${p.window_origin[1]}${p.kind === "max" ? ": the largest value wins" : `: the mean of its ${p.divisor} values`}.`;
  const [div] = plotSlots(view.el.grids, [`${source}, channel ${p.position[0]}`]);

  const shapes = p.winner ? [H.rect(p.winner[0], p.winner[1], p.winner[0], p.winner[1], { color: H.COLORS.winner, width: 4 })] : [];
  const special = (r, c) => (p.window[r][c] === null ? "ignored" : null);
  sizedGrids(view, rows, cols, 1, (cell) => drawGrid(div, p.window, {
    ...gridOptions(cell, [p.window]), scale: H.colorScale([p.window]), special, shapes,
  }));
  const values = p.window.flat().filter((v) => v !== null);
  const text = p.kind === "max" ? `max(${joinShown(values.map((v) => fmt(v)), ", ")})`
    : `(${joinShown(values.map(factor), " + ")}) / ${p.divisor}`;
  view.el.expression.replaceChildren(expressionLine(p.kind, text, fmt(p.value)));
}

function showOther(view, unit) {
  view.el.title.textContent = `${unit.layer} at ${where(unit.position)}`;
  if (unit.kind === "flatten") {
    const f = unit.flatten;
    view.el.summary.textContent = `Flatten lays the ${f.shape.join(" × ")} maps of ${f.from} out in one `
      + "vector, channel by channel, row by row: nothing is computed.";
    view.el.expression.replaceChildren(expressionLine("flatten", `${unit.layer}[${unit.position[0]}] = ${f.from}[${f.position.join(", ")}]`, fmt(unit.value)));
  } else if (unit.kind === "sum") {
    const s = unit.sum;
    view.el.summary.textContent = `A residual sum: the block's output plus its input (the shortcut), position by position.`;
    view.el.expression.replaceChildren(expressionLine("sum", `${s.inputs.join(" + ")}: ${fmt(s.values[0])} + ${factor(s.values[1])}`, fmt(unit.value)));
  } else {
    view.el.summary.textContent = `The ${unit.type} layer's output here.`;
    view.el.expression.replaceChildren(expressionLine(unit.type, "value", fmt(unit.value)));
  }
}

function table(header, rows, caption) {
  const t = document.createElement("table");
  t.className = "data-table";
  if (caption) t.createCaption().textContent = caption;
  const head = t.createTHead().insertRow();
  header.forEach((h) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    head.append(th);
  });
  const body = t.createTBody();
  rows.forEach((cells) => {
    const tr = body.insertRow();
    cells.forEach((v) => { tr.insertCell().textContent = v; });
  });
  return t;
}
