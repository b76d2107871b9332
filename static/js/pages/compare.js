// Two networks side by side (/compare): the same image through networks A and B, their top
// predictions as bars (POST /api/models/{name}/predict), a row of saliency maps per chosen
// method with a cell per network, each explaining that network's top class (the saliency
// page's cells: saliency-cell.js, jobs at /api/models/{name}/saliency/jobs), and their
// architecture figures in one table (rendered by the server). The view lives in the URL:
// a, b, image, methods, opacity. Choosing another network loads the page again.

import { postForm } from "../lib/api.js";
import { $, readPayload } from "../lib/dom.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createImagePicker } from "../widgets/image-picker.js";
import { drawPredictions } from "../widgets/predictions.js";
import { bindOpacity, createCells } from "../widgets/saliency-cells.js";

const payload = readPayload();
const SIDES = ["a", "b"];
const models = { a: payload.a, b: payload.b };
const METHODS = Object.fromEntries(payload.methods.map((m) => [m.name, m]));

const state = { image: payload.default_image, methods: [...payload.default_methods], opacity: 0.7 };
let loaded = 0; // which image load is the latest

function readState() {
  const params = readParams();
  if (params.get("image")) state.image = params.get("image");
  if (params.get("methods") !== null) {
    state.methods = params.get("methods").split(",").filter((m) => m in METHODS);
  }
  const opacity = Number.parseFloat(params.get("opacity"));
  if (Number.isFinite(opacity) && opacity >= 0 && opacity <= 1) state.opacity = opacity;
}

function writeState() {
  writeParams({
    a: models.a.name,
    b: models.b.name,
    image: state.image,
    methods: state.methods.join(","),
    opacity: state.opacity,
  });
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

// ---- the networks ---------------------------------------------------------------------

function bindModels() {
  for (const side of SIDES) {
    $(`model-${side}`).addEventListener("change", (event) => {
      writeState();
      const params = new URLSearchParams(window.location.search);
      params.set(side, event.target.value);
      window.location.search = params.toString(); // the server renders the new pair's table
    });
  }
}

// ---- the image and the predictions ----------------------------------------------------

const picker = createImagePicker($("picker"), {
  onChange(id) {
    state.image = id;
    writeState();
    loadImage();
  },
});
const cells = createCells(picker);

function inputURL(side) {
  return `/api/models/${models[side].name}/input?image=${encodeURIComponent(state.image)}`;
}

async function predict(side) {
  const model = models[side];
  const k = Math.min(payload.k, model.num_classes);
  const bars = $(`bars-${side}`);
  bars.dataset.state = "loading";
  const data = await picker.withImage((id) => {
    const form = new FormData();
    form.append("image_id", id);
    return postForm(`/api/models/${model.name}/predict?k=${k}`, form);
  });
  $(`input-${side}`).src = inputURL(side);
  await drawPredictions(bars, data.predictions, { width: Math.max(220, bars.clientWidth) });
  bars.dataset.state = "ready";
  bars.dataset.top = data.predictions[0].label;
}

async function loadImage() {
  const mine = ++loaded;
  $("stage").dataset.state = "loading";
  showError("");
  try {
    await Promise.all(SIDES.map(predict));
  } catch (error) {
    if (mine !== loaded) return;
    showError(error.message);
    $("stage").dataset.state = "error";
    return;
  }
  if (mine !== loaded) return;
  state.image = picker.id;
  writeState();
  renderGrid();
  $("stage").dataset.state = "ready";
}

// ---- the saliency grid ----------------------------------------------------------------

function head(side) {
  const cell = document.createElement("div");
  cell.className = "sal-head";
  cell.dataset.side = side;
  const name = document.createElement("strong");
  name.textContent = models[side].title;
  cell.append(`${side.toUpperCase()}: `, name);
  return cell;
}

function rowHead(method) {
  const cell = document.createElement("div");
  cell.className = "sal-row-head";
  cell.dataset.method = method.name;
  const title = document.createElement("strong");
  title.textContent = method.title;
  cell.append(title);
  return cell;
}

function renderGrid() {
  const corner = document.createElement("div");
  corner.className = "sal-corner";
  const children = [corner, ...SIDES.map(head)];
  cells.begin();
  for (const name of state.methods) {
    const method = METHODS[name];
    children.push(rowHead(method));
    for (const side of SIDES) {
      const model = models[side];
      children.push(cells.show(`${name}|${side}`, {
        title: method.title,
        data: { method: name, side },
        name: model.name,
        url: `/api/models/${model.name}/saliency/jobs?method=${name}`,
        image: state.image,
        photo: inputURL(side),
        width: model.input_shape[2],
      }));
    }
  }
  cells.prune();
  const grid = $("grid");
  grid.style.setProperty("--columns", String(SIDES.length));
  grid.replaceChildren(...children);
  grid.dataset.state = state.methods.length ? "ready" : "empty";
}

// ---- controls -------------------------------------------------------------------------

function bindMethods() {
  for (const box of document.querySelectorAll("#methods .method")) {
    const tick = box.querySelector('input[name="method"]');
    tick.checked = state.methods.includes(box.dataset.method);
    tick.addEventListener("change", () => {
      state.methods = Object.keys(METHODS).filter((m) =>
        document.querySelector(`#methods .method[data-method="${m}"] input`).checked);
      writeState();
      renderGrid();
    });
  }
}

function init() {
  readState();
  cells.setOpacity(state.opacity);
  bindModels();
  bindMethods();
  bindOpacity($("opacity"), $("opacity-value"), state.opacity, (value) => {
    state.opacity = value;
    cells.setOpacity(value);
    writeState();
  });
  picker.select(state.image);
  writeState();
  loadImage();
}

init();
