// The saliency page (/networks/{name}/saliency): a row per chosen method, a column per
// target class, each cell a map over the picture (saliency-cell.js) computed as a job
// (POST /api/models/{name}/saliency/jobs, followed by jobs.js). The two targets default to
// the image's top two predictions and can be any class typed by name (saliency-classes.js).
// The whole view lives in the URL: image, methods, targets, opacity and every setting that
// differs from its default (`smoothgrad.samples=10`).

import { postForm } from "../lib/api.js";
import { $, readPayload } from "../lib/dom.js";
import { percent } from "../lib/format.js";
import { startJob } from "../lib/jobs.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createNetworkInput } from "../widgets/network-input.js";
import { createCell } from "../widgets/saliency-cell.js";
import { createClassBox } from "../widgets/saliency-classes.js";

const payload = readPayload();
const model = payload.model;
const METHODS = Object.fromEntries(payload.methods.map((m) => [m.name, m]));
const COLUMNS = 2;

const state = {
  image: payload.default_image,
  methods: [...payload.default_methods],
  targets: Array(COLUMNS).fill(null), // class indices; null: the top predictions
  opacity: 0.7,
  settings: {}, // method → { setting: value } for the settings that differ from the default
};
let probabilities = null; // index → probability for the current image
let labels = null; // index → label (from the prediction)
const cells = new Map(); // "method|column" → cell

// ---- the URL --------------------------------------------------------------------------

function readState() {
  const params = readParams();
  if (params.get("image")) state.image = params.get("image");
  if (params.get("methods") !== null) {
    state.methods = params.get("methods").split(",").filter((m) => m in METHODS);
  }
  const targets = (params.get("targets") || "").split(",").map((t) => Number.parseInt(t, 10));
  targets.slice(0, COLUMNS).forEach((t, i) => {
    if (Number.isInteger(t) && t >= 0 && t < model.num_classes) state.targets[i] = t;
  });
  const opacity = Number.parseFloat(params.get("opacity"));
  if (Number.isFinite(opacity) && opacity >= 0 && opacity <= 1) state.opacity = opacity;
  for (const method of Object.values(METHODS)) {
    for (const param of method.params) {
      const text = params.get(`${method.name}.${param.name}`);
      if (text !== null) setSetting(method.name, param, text);
    }
  }
}

function writeState() {
  const settings = {};
  for (const method of Object.values(METHODS)) {
    for (const param of method.params) {
      const value = (state.settings[method.name] || {})[param.name];
      settings[`${method.name}.${param.name}`] = value === undefined ? null : value;
    }
  }
  writeParams({
    image: state.image,
    methods: state.methods.join(","),
    targets: state.targets.every((t) => t !== null) ? state.targets.join(",") : null,
    opacity: state.opacity,
    ...settings,
  });
}

// ---- settings -------------------------------------------------------------------------

function parseSetting(param, text) {
  if (param.type === "string") return String(text);
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function setSetting(method, param, text) {
  const value = parseSetting(param, text);
  const own = (state.settings[method] = state.settings[method] || {});
  if (value === null || value === param.default) delete own[param.name];
  else own[param.name] = value;
}

function settingsOf(method) {
  return state.settings[method] || {};
}

function bindMethodControls() {
  for (const box of document.querySelectorAll("#methods .method")) {
    const name = box.dataset.method;
    const tick = box.querySelector('input[name="method"]');
    const panel = box.querySelector(".method-settings");
    tick.checked = state.methods.includes(name);
    if (panel) panel.hidden = !tick.checked;
    tick.addEventListener("change", () => {
      state.methods = Object.keys(METHODS).filter((m) =>
        document.querySelector(`#methods .method[data-method="${m}"] input[name="method"]`).checked);
      if (panel) panel.hidden = !tick.checked;
      writeState();
      renderGrid();
    });
    for (const control of box.querySelectorAll("[data-setting]")) {
      const param = METHODS[name].params.find((p) => p.name === control.dataset.setting);
      const value = settingsOf(name)[param.name];
      if (value !== undefined) control.value = value;
      control.addEventListener("change", () => {
        setSetting(name, param, control.value);
        writeState();
        renderGrid();
      });
    }
  }
}

// ---- the targets ----------------------------------------------------------------------

const probability = (index) => (probabilities ? probabilities.get(index) ?? null : null);

const boxes = Array.from({ length: COLUMNS }, (_, column) => createClassBox($(`target-${column}`), {
  list: $(`classes-${column}`),
  found: $(`target-found-${column}`),
  model: model.name,
  probability,
  onPick(cls) {
    state.targets[column] = cls.index;
    writeState();
    renderGrid();
  },
}));

function showTargets() {
  state.targets.forEach((index, column) => {
    if (index !== null) boxes[column].show({ index, label: labels.get(index) });
  });
}

// ---- the image ------------------------------------------------------------------------

// A sample, an upload or (for the digit networks) a drawing: the maps follow when the pen
// lifts. The server keeps a drawing under an id, which then names it like any image.
const input = createNetworkInput({
  pickerRoot: $("picker"),
  canvas: payload.drawable ? $("digit-canvas") : null,
  onChange(final) {
    if (!final) return;
    state.targets.fill(null); // a new picture: its own top classes
    if (!input.isDrawing) state.image = input.id;
    loadImage();
  },
});
if (payload.drawable) $("draw-clear").addEventListener("click", () => input.clearDrawing());

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

async function loadImage() {
  $("stage").dataset.state = "loading";
  showError("");
  let data;
  try {
    const url = `/api/models/${model.name}/predict?k=${model.num_classes}`;
    data = await input.withImage((id) => { // a drawing is uploaded first, then named by id
      const body = new FormData();
      body.append("image_id", id);
      return postForm(url, body);
    });
  } catch (error) {
    showError(error.message);
    $("stage").dataset.state = "error";
    return;
  }
  state.image = input.id;
  probabilities = new Map(data.predictions.map((p) => [p.index, p.probability]));
  labels = new Map(data.predictions.map((p) => [p.index, p.label]));
  state.targets = state.targets.map((t, i) => (t === null ? data.predictions[i].index : t));
  showTargets();
  writeState();
  renderGrid();
}

// ---- the grid -------------------------------------------------------------------------

function settingsText(method) {
  const own = settingsOf(method.name);
  return method.params.map((p) => `${p.name} ${own[p.name] ?? p.default}`).join(", ");
}

function headCell(column) {
  const index = state.targets[column];
  const head = document.createElement("div");
  head.className = "sal-head";
  head.dataset.column = String(column);
  const name = document.createElement("strong");
  name.textContent = labels.get(index);
  const p = document.createElement("span");
  p.className = "sal-prob";
  p.textContent = ` ${percent(probability(index))}`;
  const sub = document.createElement("span");
  sub.className = "hint";
  sub.textContent = ` class ${index}`;
  head.append(`Class ${"AB"[column]}: `, name, p, sub);
  return head;
}

function rowHead(method) {
  const head = document.createElement("div");
  head.className = "sal-row-head";
  head.dataset.method = method.name;
  const title = document.createElement("strong");
  title.textContent = method.title;
  const settings = document.createElement("span");
  settings.className = "sal-settings";
  settings.textContent = settingsText(method);
  const paper = document.createElement("span");
  paper.className = "hint sal-paper";
  paper.textContent = method.paper;
  const reduction = document.createElement("span");
  reduction.className = "hint";
  reduction.textContent = `Map: ${method.reduction}`;
  head.append(title, settings, reduction, paper);
  return head;
}

function jobURL(method, target) {
  const query = new URLSearchParams({ method: method.name, target: String(target) });
  for (const [key, value] of Object.entries(settingsOf(method.name))) query.set(key, String(value));
  return `/api/models/${model.name}/saliency/jobs?${query}`;
}

function renderGrid() {
  if (!probabilities) return;
  const grid = $("grid");
  const wanted = new Set();
  const children = [document.createElement("div"), ...state.targets.map((_, c) => headCell(c))];
  children[0].className = "sal-corner";
  const [, width] = model.input_shape.slice(1);
  for (const name of state.methods) {
    const method = METHODS[name];
    children.push(rowHead(method));
    state.targets.forEach((target, column) => {
      const key = `${name}|${column}`;
      wanted.add(key);
      let cell = cells.get(key);
      if (!cell) {
        cell = createCell(method.title);
        cell.root.dataset.method = name;
        cell.root.dataset.column = String(column);
        cells.set(key, cell);
      }
      cell.setOpacity(state.opacity);
      const url = jobURL(method, target);
      const photo = `/api/models/${model.name}/input?image=${encodeURIComponent(state.image)}`;
      if (cell.url !== url || cell.image !== state.image) {
        cell.url = url;
        cell.image = state.image;
        cell.compute({
          name: model.name,
          photo,
          width,
          start: (signal, onProgress) => input.withImage((id) => {
            const form = new FormData();
            form.append("image_id", id);
            return startJob(url, { form, onProgress, signal });
          }),
        });
      }
      children.push(cell.root);
    });
  }
  for (const [key, cell] of cells) {
    if (!wanted.has(key)) {
      cell.cancel();
      cells.delete(key);
    }
  }
  grid.style.setProperty("--columns", String(COLUMNS));
  grid.replaceChildren(...children);
  $("stage").dataset.state = state.methods.length ? "ready" : "empty";
}

// ---- opacity --------------------------------------------------------------------------

function bindOpacity() {
  const slider = $("opacity");
  const shown = $("opacity-value");
  slider.value = String(state.opacity);
  shown.textContent = `${Math.round(state.opacity * 100)}%`;
  slider.addEventListener("input", () => {
    state.opacity = Number(slider.value);
    shown.textContent = `${Math.round(state.opacity * 100)}%`;
    for (const cell of cells.values()) cell.setOpacity(state.opacity);
    writeState();
  });
}

function init() {
  readState();
  bindMethodControls();
  bindOpacity();
  input.select(state.image);
  loadImage();
}

init();
