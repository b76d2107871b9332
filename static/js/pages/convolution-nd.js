// The playground's 1-D and 3-D views (/convolution?dims=1, ?dims=3). 1-D: a signal, one row
// per channel (a sound's samples; a sentence, one column per word and one row per feature of
// its embedding), the kernel a C×k block sliding along it. 3-D: a volume as a row of slices
// (a video's frames, a scan's slices; one row per channel), the kernel a small cube moving
// through them: on each input slice the cube covers, the window is lit and says which
// kernel slice it meets. The examples come from the notes (payload.views); stride, padding,
// padding mode and dilation are typed as the API takes them. One request per change; the
// steps are drawn from the answer. The view, its settings and the step live in the URL.

import { renderFormula } from "../draw/expression.js";
import {
  blank, dilatedGrid, drawGrid, plotSlots, revealOutputs, windowShapes,
} from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { createLive } from "../lib/controls.js";
import { $ } from "../lib/dom.js";
import { shapeOf } from "../lib/shapes.js";
import { createStepper } from "../widgets/stepper.js";
import {
  inputBorder, MODE_TEXT, paddingTest, paddingText, parseAxes, parsePadding, presetPadding, writeSum,
} from "./conv-steps.js";

const AXIS_HINT = { 1: "1 number", 3: "1 number or 3: slices, rows, cols" };
const PADDING_HINT = {
  1: "1 · left, right · same · valid",
  3: "1 · slices, rows, cols · front, back, top, bottom, left, right · same · valid",
};
const GAP = 6; // pixels between slices (css/convolution.css)

// The 2-D / 1-D / 3-D links above the page, the current one marked; in 1-D and 3-D the 2-D
// playground is hidden and this view shown.
export function showViewTabs(dims) {
  const tabs = $("view-tabs");
  document.querySelector(".page-head").after(tabs);
  tabs.querySelectorAll("a").forEach((a) => {
    if (Number(a.dataset.dims) === dims) a.setAttribute("aria-current", "page");
  });
  if (dims === 2) return;
  const playground = $("stage").closest(".playground");
  [playground, document.querySelector("section.editors")].forEach((el) => { el.hidden = true; });
  const template = $("nd-view-template");
  template.replaceWith(template.content.cloneNode(true));
}

export function startNdView(payload, dims) {
  const { presets, default_preset: fallback } = payload.views[String(dims)];
  const byName = Object.fromEntries(presets.map((p) => [p.name, p]));
  const limits = payload.limits_by_dims[String(dims)];
  const view = { dims, limits, config: null, trace: null, preset: null, drawn: null };
  fillPanel(presets, dims);
  const stepper = createStepper($("nd-stepper"), { onStep: (index) => { drawStep(view, index); saveURL(view); } });
  view.stepper = stepper;
  view.run = createLive({
    url: "/api/convolution",
    stage: $("nd-stage"),
    errorBox: $("nd-error"),
    onResult(data, step) {
      view.trace = data;
      drawAll(view);
      stepper.setCount(data.steps.length, step);
    },
  });
  const q = new URLSearchParams(window.location.search);
  usePreset(view, byName[q.get("preset")] || byName[fallback], { query: q });
  $("nd-preset").addEventListener("change", (event) => {
    usePreset(view, byName[event.target.value]);
    event.target.blur();
  });
  $("nd-controls").querySelectorAll("input, select[name]").forEach((input) => {
    input.addEventListener("change", () => readSettings(view));
  });
  window.addEventListener("resize", () => { if (view.trace) { drawAll(view); drawStep(view, stepper.index); } });
  return view;
}

function fillPanel(presets, dims) {
  const select = $("nd-preset");
  select.replaceChildren(...presets.map((p) => new Option(p.title, p.name)));
  document.querySelectorAll("#nd-controls [data-hint=axes]").forEach((el) => { el.textContent = AXIS_HINT[dims]; });
  document.querySelector("#nd-controls [data-hint=padding]").textContent = PADDING_HINT[dims];
}

const field = (name) => document.querySelector(`#nd-controls [name="${name}"]`);

// A preset's settings in the panel (or, on opening, the URL's), then computed.
function usePreset(view, preset, { query = null } = {}) {
  const { dims } = view;
  view.preset = preset;
  $("nd-preset").value = preset.name;
  $("nd-source").textContent = `From: ${preset.source}`;
  const get = (name, value) => (query && query.has(name) ? query.get(name) : value);
  field("nd_stride").value = get("stride", paddingText(presetPadding(preset.stride, dims)));
  field("nd_padding").value = get("padding", paddingText(presetPadding(preset.padding, dims)));
  field("nd_padding_mode").value = get("padding_mode", preset.padding_mode);
  field("nd_dilation").value = get("dilation", paddingText(presetPadding(preset.dilation, dims)));
  const step = query ? Math.max(0, Number.parseInt(query.get("step") || "1", 10) - 1) || 0 : 0;
  readSettings(view, step);
}

// The panel read; a field that is not a valid value is marked and nothing is computed.
function readSettings(view, step = 0) {
  const { dims, limits } = view;
  const values = {
    stride: parseAxes(field("nd_stride").value, dims, 1, limits.max_stride, "Stride"),
    padding: parsePadding(field("nd_padding").value, dims),
    dilation: parseAxes(field("nd_dilation").value, dims, 1, limits.max_dilation, "Dilation"),
  };
  const problems = Object.entries(values).filter(([, v]) => v && v.problem);
  for (const name of Object.keys(values)) field(`nd_${name}`).setAttribute("aria-invalid", String(problems.some(([n]) => n === name)));
  if (problems.length) {
    $("nd-error").hidden = false;
    $("nd-error").textContent = problems.map(([, v]) => v.problem).join(". ");
    $("nd-stage").dataset.state = "error";
    return;
  }
  const { preset } = view;
  view.config = {
    dims, input: preset.input, kernel: preset.kernel, bias: preset.bias, flip: preset.flip,
    padding_mode: field("nd_padding_mode").value, ...values,
  };
  view.run(view.config, step);
}

function saveURL(view) {
  const { config, preset, stepper } = view;
  const params = new URLSearchParams({
    dims: String(view.dims), preset: preset.name, stride: paddingText(config.stride),
    padding: paddingText(config.padding), padding_mode: config.padding_mode,
    dilation: paddingText(config.dilation), step: String(stepper.index + 1),
  });
  window.history.replaceState(null, "", `?${params.toString().replace(/%2C\+?/g, ",")}`);
}

// ---------------------------------------------------------------- drawing

// The width the figures may take.
const room = () => Math.max(240, $("nd-stage").clientWidth - 4);

function drawAll(view) {
  const { trace } = view;
  if (view.dims === 1) drawSignal(view, trace);
  else drawVolume(view, trace);
  const padded = trace.pads.some(([before, after]) => before + after > 0);
  $("nd-padding-text").textContent = padded ? `Padding: ${MODE_TEXT[trace.padding_mode]}.` : "";
  renderFormula($("nd-formula"), trace.formula);
  $("nd-params-conv").textContent = trace.parameters.conv_expression;
  $("nd-params-dense").textContent = trace.parameters.dense_expression;
}

// 1-D: the padded signal C×Lp (a row per channel), the kernel C×k for the current output
// channel, and each output channel's row.
function drawSignal(view, trace) {
  const [C, Lp] = shapeOf(trace.padded_input);
  const [O, Lout] = trace.output_shape;
  const cell = Math.max(8, Math.min(H.maxCell(), Math.floor(room() / Lp)));
  const zeros = trace.padding_mode === "zeros";
  const ring = paddingTest(trace.pads, [Lp]);
  const [inputDiv] = plotSlots($("nd-input"), [C > 1 ? `${C} channels (rows) × ${Lp} positions` : `${Lp} positions`]);
  drawGrid(inputDiv, trace.padded_input, {
    cell, scale: H.colorScale([trace.padded_input]), digits: 2,
    special: (r, c) => (zeros && ring(c) ? "padding" : null),
  });
  labelPositions(inputDiv, view.preset.labels, trace.pads[0], Lp, cell);
  const wave = C === 1 && Lp > 12 ? drawWave(inputDiv, trace.padded_input[0], trace.pads[0], cell) : null;
  if (!wave && inputDiv.parentElement.querySelector(".nd-wave")) inputDiv.parentElement.querySelector(".nd-wave").remove();
  const outputDivs = plotSlots($("nd-output"), trace.output.map((_, o) => (O > 1 ? `filter ${o}` : `${Lout} positions`)));
  trace.output.forEach((row, o) => drawGrid(outputDivs[o], [row.map(() => null)], {
    cell, scale: H.colorScale([trace.output]), digits: 2, fits: [row],
  }));
  $("nd-input-shape").textContent = `padded, ${C} × ${Lp}`;
  $("nd-output-shape").textContent = `${O} × ${Lout}`;
  const border = !zeros && trace.pads[0].some((p) => p > 0) ? [inputBorder(trace.pads, C, Lp)] : [];
  view.drawn = { inputDivs: [inputDiv], outputDivs, grids: trace.output.map((row) => [row]),
    filled: Array(O).fill(0), cell, border, kernelFor: -1, lit: [], currentOn: -1, wave };
}

// A one-channel signal (a sound, a time series) as a curve over its cells, the padding
// shaded; the window's span is shaded at each step (waveWindow).
function drawWave(gridDiv, values, [before, after], cell) {
  const slot = gridDiv.parentElement;
  let div = slot.querySelector(".nd-wave");
  if (!div) {
    div = document.createElement("div");
    div.className = "nd-wave";
    slot.insertBefore(div, gridDiv);
  }
  const n = values.length;
  const shade = (x0, x1, color) => ({ type: "rect", xref: "x", yref: "paper", x0: x0 - 0.5, x1: x1 + 0.5, y0: 0, y1: 1, fillcolor: color, line: { width: 0 }, layer: "below" });
  const padding = [before > 0 && shade(0, before - 1, "#e5e7eb"), after > 0 && shade(n - after, n - 1, "#e5e7eb")].filter(Boolean);
  const layout = {
    width: n * cell + 4, height: 120, margin: { l: 2, r: 2, t: 4, b: 4 },
    xaxis: { visible: false, range: [-0.5, n - 0.5] }, yaxis: { zeroline: true, showticklabels: false, showgrid: false },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", showlegend: false, dragmode: false, shapes: padding,
  };
  const line = { type: "scatter", mode: "lines+markers", x: values.map((_, i) => i), y: values,
    line: { color: "#1d4ed8", width: 2 }, marker: { size: 4 }, hovertemplate: "position %{x}: %{y}<extra></extra>" };
  window.Plotly.react(div, [line], layout, H.PLOT_CONFIG);
  return { div, padding, shade };
}

function waveWindow(wave, start, span) {
  if (!wave) return;
  H.setShapes(wave.div, [...wave.padding, wave.shade(start, start + span - 1, "rgba(245, 158, 11, 0.3)")]);
}

// Words (or any labels) over the signal's columns, the padding's columns left blank.
function labelPositions(div, labels, [before], columns, cell) {
  const slot = div.parentElement;
  let row = slot.querySelector(".nd-labels");
  if (!labels) { if (row) row.remove(); return; }
  if (!row) {
    row = document.createElement("div");
    row.className = "nd-labels";
    slot.insertBefore(row, div);
  }
  row.style.paddingLeft = "2px";
  row.replaceChildren(...Array.from({ length: columns }, (_, c) => {
    const span = document.createElement("span");
    span.style.width = `${cell}px`;
    span.textContent = labels[c - before] || "";
    return span;
  }));
}

// 3-D: one row of slices per channel; the kernel's slices; the output's slices.
function drawVolume(view, trace) {
  const [C, Dp, Hp, Wp] = shapeOf(trace.padded_input);
  const [O, Do, Ho, Wo] = trace.output_shape;
  const cell = sliceCell(Dp, Wp);
  const zeros = trace.padding_mode === "zeros";
  const ring = paddingTest(trace.pads, [Dp, Hp, Wp]);
  const scale = H.colorScale(trace.padded_input.flat());
  const inputDivs = slicesOf($("nd-input"), trace.padded_input, (c, z) => sliceLabel(trace, c, z, C), (c, z, div, grid) => (
    drawGrid(div, grid, { cell, scale, digits: 2, special: (r, col) => (zeros && ring(z, r, col) ? "padding" : null) })
  ));
  const outScale = H.colorScale(trace.output.flat());
  const outputDivs = slicesOf($("nd-output"), trace.output, (o, z) => `${O > 1 ? `filter ${o}, ` : ""}slice ${z}`,
    (o, z, div, grid) => drawGrid(div, blank(Ho, Wo), { cell: sliceCell(Do, Wo), scale: outScale, digits: 2, fits: grid }));
  $("nd-input-shape").textContent = `padded, ${C} × ${Dp} × ${Hp} × ${Wp}`;
  $("nd-output-shape").textContent = `${O} × ${Do} × ${Ho} × ${Wo}`;
  const border = !zeros && trace.pads.some(([a, b]) => a + b > 0) ? [inputBorder(trace.pads, Hp, Wp)] : [];
  view.drawn = { inputDivs, outputDivs, grids: trace.output.flat(), filled: Array(O * Do).fill(0),
    cell, border, kernelFor: -1, lit: [], currentOn: -1 };
}

// Cells as large as `count` slices `cols` wide allow, as many in a row as fit with cells
// of 20 pixels or more (numbers are printed from 20 on), at least one.
function sliceCell(count, cols) {
  const perRow = Math.min(count, Math.max(1, Math.floor((room() + GAP) / (cols * 20 + GAP))));
  return Math.max(10, Math.min(44, Math.floor((room() - (perRow - 1) * GAP) / (perRow * cols))));
}

function sliceLabel(trace, c, z, C) {
  const [front, back] = trace.pads[0];
  const depth = trace.padded_input[0].length;
  const where = z < front || z >= depth - back ? " (padding)" : ` = input ${z - front}`;
  return `${C > 1 ? `ch ${c}, ` : ""}slice ${z}${where}`;
}

// One row (a div of figures) per entry of `volumes` (C×D×H×W or O×D×H×W), one figure per
// slice, drawn by draw(row, slice, div, grid); returns divs[row][slice].
function slicesOf(container, volumes, label, draw) {
  while (container.children.length > volumes.length) container.lastChild.remove();
  return volumes.map((volume, c) => {
    let row = container.children[c];
    if (!row) {
      row = document.createElement("div");
      row.className = "nd-slices";
      container.append(row);
    }
    const divs = plotSlots(row, volume.map((_, z) => label(c, z)));
    volume.forEach((grid, z) => draw(c, z, divs[z], grid));
    return divs;
  });
}

// ---------------------------------------------------------------- a step

function drawStep(view, index) {
  const { trace, drawn } = view;
  if (!trace || !drawn || !trace.steps.length) return;
  const step = trace.steps[index];
  const o = step.position[0];
  if (o !== drawn.kernelFor) drawKernel(view, o);
  if (view.dims === 1) stepSignal(trace, drawn, step);
  else stepVolume(trace, drawn, step);
  revealOutputs(drawn.outputDivs.flat(), drawn.grids, index, drawn.filled);
  const C = trace.padded_input.length;
  writeSum($("nd-expression"), step, C, (k) => `channel ${k}`);
  $("nd-position").textContent = positionText(view, step);
}

function stepSignal(trace, drawn, step) {
  const C = trace.padded_input.length;
  const k = trace.kernel[0][0].length;
  const [d] = trace.dilation;
  const shapes = windowShapes(0, step.window[0], C, k, 1, d);
  waveWindow(drawn.wave, step.window[0], d * (k - 1) + 1);
  H.setShapes(drawn.inputDivs[0], [...drawn.border, ...shapes]);
  const [o, i] = step.position;
  if (drawn.currentOn >= 0 && drawn.currentOn !== o) H.setShapes(drawn.outputDivs[drawn.currentOn], []);
  H.setShapes(drawn.outputDivs[o], [H.mark(0, i)]);
  drawn.currentOn = o;
}

// The input slices the kernel cube covers get the window (and say which kernel slice they
// meet); the others none. The current output cell is marked on its slice.
function stepVolume(trace, drawn, step) {
  const [kd, kh, kw] = shapeOf(trace.kernel).slice(2);
  const [dd, dh, dw] = trace.dilation;
  const [z0, r0, c0] = step.window;
  const covered = new Map(Array.from({ length: kd }, (_, a) => [z0 + a * dd, a]));
  const lit = [];
  drawn.inputDivs.forEach((divs) => divs.forEach((div, z) => {
    const slot = div.parentElement;
    const a = covered.get(z);
    slot.classList.toggle("lit", a !== undefined);
    slot.querySelector("figcaption").dataset.kernelSlice = a === undefined ? "" : `× kernel slice ${a}`;
    if (a !== undefined) {
      H.setShapes(div, [...drawn.border, ...windowShapes(r0, c0, kh, kw, dh, dw)]);
      lit.push(div);
    } else if (drawn.lit.includes(div) || drawn.border.length) {
      H.setShapes(div, drawn.border);
    }
  }));
  drawn.lit = lit;
  const [o, z, r, c] = step.position;
  const target = o * trace.output_shape[1] + z;
  const outs = drawn.outputDivs.flat();
  if (drawn.currentOn >= 0 && drawn.currentOn !== target) H.setShapes(outs[drawn.currentOn], []);
  H.setShapes(outs[target], [H.mark(r, c)]);
  drawn.currentOn = target;
}

// The kernel of output channel o: 1-D a C×k block (spread out when dilated), 3-D its slices.
function drawKernel(view, o) {
  const { trace, drawn } = view;
  const kernel = trace.kernel[o];
  const scale = H.colorScale(view.dims === 1 ? trace.kernel : trace.kernel.flat(2));
  const dilated = trace.dilation.some((d) => d > 1);
  const cell = Math.min(H.maxCell(), Math.max(drawn.cell, 28));
  const which = trace.kernel.length > 1 ? ` of filter ${o}` : "";
  if (view.dims === 1) {
    const C = kernel.length;
    const k = kernel[0].length;
    const [div] = plotSlots($("nd-kernel"), [`${C} × ${k}${dilated ? `, dilated ${trace.dilation[0]}` : ""}`]);
    const grid = dilated ? dilatedGrid(kernel, 1, trace.dilation[0]) : kernel;
    drawGrid(div, grid, { cell, scale, digits: 3, special: (r, c) => (grid[r][c] === null ? "hole" : null) });
    $("nd-kernel-title").textContent = `Kernel${which}`;
  } else {
    const [C, kd, kh, kw] = shapeOf(kernel);
    slicesOf($("nd-kernel"), kernel, (c, a) => `${C > 1 ? `ch ${c}, ` : ""}kernel slice ${a}`,
      (c, a, div, grid) => drawGrid(div, grid, { cell, scale, digits: 3 }));
    $("nd-kernel-title").textContent = `Kernel${which}: ${kd} × ${kh} × ${kw}, a cube`
      + `${dilated ? ` (dilation ${trace.dilation.join(", ")})` : ""}`;
  }
  drawn.kernelFor = o;
}

function positionText(view, step) {
  const O = view.trace.output_shape[0];
  const [o, ...at] = step.position;
  const head = O > 1 ? `Filter ${o}, ` : "Output ";
  if (view.dims === 1) {
    const first = view.preset.labels && view.preset.labels[step.window[0] - view.trace.pads[0][0]];
    const word = view.preset.labels ? ` (it starts ${first ? `at “${first}”` : "in the padding"})` : "";
    return `${head}position ${at[0]} ← window from position ${step.window[0]} of the padded signal${word}`;
  }
  const [kd] = shapeOf(view.trace.kernel).slice(2);
  const last = step.window[0] + (kd - 1) * view.trace.dilation[0];
  return `${head}slice ${at[0]}, row ${at[1]}, column ${at[2]} ← the kernel cube on padded slices `
    + `${step.window[0]}–${last}, rows from ${step.window[1]}, columns from ${step.window[2]}`;
}
