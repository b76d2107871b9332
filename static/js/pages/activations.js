// The activations page: five functions plotted with their derivatives (sliders for leaky
// ReLU's slope and ELU's α), maxout worked out, and a feature map before and after the
// chosen function with histograms. Every curve and number comes from the server (torch).

import { INK, chartLayout, drawChart, line } from "../draw/charts.js";
import { drawGrid } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { latestOnly, postJSON } from "../lib/api.js";
import { createControls, createLive } from "../lib/controls.js";
import { $, readPayload } from "../lib/dom.js";
import { fmt } from "../lib/format.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { renderMaxout } from "../widgets/maxout.js";

const CURVE_SIZE = [252, 230];
const MAP_BOX = 420;

const payload = readPayload();
const FUNCTIONS = Object.fromEntries(payload.functions.map((f) => [f.name, f]));
const curves = { ...payload.curves };
const state = {
  negative_slope: payload.defaults.negative_slope,
  alpha: payload.defaults.alpha,
  derivatives: false,
};
const controls = createControls($("apply-controls"));
const apply = createLive({
  url: "/api/activations/apply",
  stage: $("apply"),
  errorBox: $("apply-error"),
  onResult: drawMap,
});

// ---------------------------------------------------------------- curves

function drawCurve(name) {
  const data = curves[name];
  const traces = [line(data.x, data.y, { name: "f(x)" })];
  if (state.derivatives) {
    traces.push(line(data.x, data.derivative, { color: INK.second, dash: "dash", name: "f′(x)" }));
  }
  const div = $(`curve-${name}`);
  div.dataset.setting = data.setting === null ? "" : String(data.setting);
  drawChart(div, traces, chartLayout(...CURVE_SIZE, { xaxis: { range: [-5, 5], dtick: 2 } }));
}

// One request at a time per function: dragging a slider aborts the answer it no longer needs.
const curveRequests = Object.fromEntries(Object.keys(curves).map((name) => [
  name, latestOnly((body, signal) => postJSON("/api/activations/curve", body, signal)),
]));

async function updateCurve(name) {
  const body = { function: name, negative_slope: state.negative_slope, alpha: state.alpha };
  try {
    curves[name] = await curveRequests[name](body);
    $("curves-error").hidden = true;
  } catch (error) {
    if (error.name === "AbortError") return;
    $("curves-error").hidden = false;
    $("curves-error").textContent = error.message;
    return;
  }
  drawCurve(name);
}

function bindSliders() {
  const sliders = [["negative_slope", "leaky_relu", "slope-value"], ["alpha", "elu", "alpha-value"]];
  for (const [setting, name, output] of sliders) {
    const input = document.querySelector(`[name="${setting}"]`);
    input.value = String(state[setting]);
    $(output).textContent = fmt(state[setting], 2);
    input.addEventListener("input", () => {
      state[setting] = Number(input.value);
      $(output).textContent = fmt(state[setting], 2);
      updateCurve(name);
      if (currentFunction() === name) computeMap();
      saveURL();
    });
  }
  const toggle = $("show-derivatives");
  toggle.checked = state.derivatives;
  toggle.addEventListener("change", () => {
    state.derivatives = toggle.checked;
    document.body.classList.toggle("with-derivatives", state.derivatives);
    Object.keys(curves).forEach(drawCurve);
    saveURL();
  });
  document.body.classList.toggle("with-derivatives", state.derivatives);
}

// ---------------------------------------------------------------- feature map

const currentFunction = () => document.querySelector('[name="function"]:checked').value;
const currentSource = () => document.querySelector('[name="source"]:checked').value;

function mapBody() {
  const body = { function: currentFunction(), negative_slope: state.negative_slope,
    alpha: state.alpha };
  if (currentSource() === "preset") body.preset = controls.field("preset").value;
  else Object.assign(body, { image: controls.field("image").value, kernel: controls.field("kernel").value });
  return body;
}

function computeMap() {
  saveURL();
  return apply(mapBody());
}

function drawMap(data) {
  const [rows, cols] = data.shape;
  const cell = H.cellSize(rows, cols, MAP_BOX);
  const scale = H.colorScale([data.before, data.after]);
  drawGrid($("map-before"), data.before, { cell, scale });
  drawGrid($("map-after"), data.after, { cell, scale });
  const title = FUNCTIONS[data.function].title;
  $("after-name").textContent = title;
  const range = (s) => `(${fmt(s.min, 2)} to ${fmt(s.max, 2)})`;
  $("before-range").textContent = range(data.stats.before);
  $("after-range").textContent = range(data.stats.after);
  const hist = data.histogram;
  const width = hist.edges[1] - hist.edges[0];
  const bars = (counts, color, name) => ({
    type: "bar", x: hist.centers, y: counts, width, name, marker: { color, opacity: 0.6 },
    hovertemplate: `${name}: %{y} values near %{x:.3f}<extra></extra>`,
  });
  drawChart($("map-histogram"), [bars(hist.before, INK.soft, "before"), bars(hist.after, INK.line, "after")],
    chartLayout(420, 300, { barmode: "overlay", showlegend: true, legend: { x: 0.02, y: 0.98 } }));
  const total = rows * cols;
  const percent = (f) => `${fmt(f * 100, 0)}%`;
  $("apply-summary").textContent = `${title} changed ${data.changed} of ${total} values. Negative `
    + `before: ${percent(data.stats.before.negative)}, after: ${percent(data.stats.after.negative)}; `
    + `exactly zero after: ${percent(data.stats.after.zero)}.`;
  $("apply-source").textContent = `Feature map: ${data.source}, ${rows} × ${cols}.`;
}

function bindMap() {
  document.querySelectorAll('[name="function"], [name="source"]').forEach((radio) => {
    radio.addEventListener("change", computeMap);
  });
  for (const name of ["preset", "image", "kernel"]) {
    controls.field(name).addEventListener("change", () => {
      document.querySelector(`[name="source"][value="${name === "preset" ? "preset" : "image"}"]`)
        .checked = true;
      computeMap();
    });
  }
}

// ---------------------------------------------------------------- URL

function saveURL() {
  const source = currentSource() === "preset"
    ? `preset:${controls.field("preset").value}`
    : `image:${controls.field("image").value}:${controls.field("kernel").value}`;
  writeParams({
    fn: currentFunction(), slope: state.negative_slope, alpha: state.alpha,
    derivatives: state.derivatives ? "1" : "0", map: source,
  });
}

// Select `value` if the menu offers it (a stale URL keeps the default).
function choose(name, value) {
  const select = controls.field(name);
  if (value && [...select.options].some((option) => option.value === value)) select.value = value;
}

function fromURL() {
  const q = readParams();
  const number = (key, fallback, max) => (Number.isFinite(Number(q.get(key))) && q.has(key)
    ? Math.max(0, Math.min(max, Number(q.get(key)))) : fallback);
  state.negative_slope = number("slope", state.negative_slope, payload.limits.max_slope);
  state.alpha = number("alpha", state.alpha, payload.limits.max_alpha);
  state.derivatives = q.get("derivatives") === "1";
  const fn = FUNCTIONS[q.get("fn")] ? q.get("fn") : "relu";
  document.querySelector(`[name="function"][value="${fn}"]`).checked = true;
  const [kind, first, second] = (q.get("map") || `preset:${payload.default_map.preset}`).split(":");
  const source = kind === "image" ? "image" : "preset";
  document.querySelector(`[name="source"][value="${source}"]`).checked = true;
  if (source === "preset") choose("preset", first);
  else {
    choose("image", first);
    choose("kernel", second);
  }
}

// ---------------------------------------------------------------- start

fromURL();
bindSliders();
bindMap();
const changed = ["leaky_relu", "elu"].filter((name) => curves[name].setting !== state[
  name === "elu" ? "alpha" : "negative_slope"]);
Object.keys(curves).forEach(drawCurve);
changed.forEach(updateCurve);
renderMaxout(payload.maxout, {
  xText: $("maxout-x"), expression: $("maxout-expression"), plot: $("maxout-plot"),
});
computeMap();
