// The learned filters of a network (/networks/{name}/filters): a layer's gallery of filters
// (filters-gallery.js), a clicked filter's numbers (filters-detail.js) and the map it makes
// on an image, what its channel responds to (activation maximisation, run as a job with a
// progress bar and a Cancel button) and, for the digit models, the nine digits of the
// MNIST sample that excite it most. Every number comes from /api/models/{name}/...; the
// view lives in the URL. The server paints the gallery and the map in the viewer's colour
// scheme (the lecture tools' choice; choosing another draws the page again).

import { renderLegend } from "../draw/legend.js";
import { errorText, fetchImage, getJSON, latestOnly, postForm } from "../lib/api.js";
import { schemeName } from "../lib/colormaps.js";
import { $, readPayload } from "../lib/dom.js";
import { fmt } from "../lib/format.js";
import { startJob } from "../lib/jobs.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createFilterDetail } from "../widgets/filters-detail.js";
import { createGallery } from "../widgets/filters-gallery.js";
import { createImagePicker } from "../widgets/image-picker.js";

const payload = readPayload();
const MODEL = payload.model;
const LAYERS = new Map(payload.layers.map((layer) => [layer.name, layer]));
const API = `/api/models/${encodeURIComponent(MODEL.name)}`;
const MAP_SIDE = 340; // screen pixels for the input and the feature map
const RESULT_SIDE = 340; // ... for the maximised picture
const DIGIT_SIDE = 112; // ... for one top digit
const DIGIT_GAP = 2; // pixels between the digits of the server's strip
const KINDS = {
  rgb: "The first layer of a colour network: each filter's three input channels drawn as red, green and blue (one brightness range for the layer, or per filter)",
  single: "One input channel: each tile is a filter's kernel, blue below zero, red above",
  channels: "One row per filter, one column per input channel: each tile is the kernel slice that channel is weighed by",
  depthwise: "A depthwise convolution: each channel has its own kernel, which sees only that channel",
  pointwise: "A 1×1 convolution mixes channels at each pixel: one row per filter, one column per input channel, each cell one weight",
};
const stage = $("stage");

const state = { layer: null, order: "index", scale: "layer", filter: null, channel: null };
let running = null; // the AbortController of the activation maximisation under way
let topRun = null; // ... of the top digits' job

const fetchLayout = latestOnly((url, signal) => getJSON(url, signal));
const fetchDetail = latestOnly((url, signal) => getJSON(url, signal));
const fetchMap = latestOnly((url, form, signal) => postForm(url, form, signal));
const fetchSeen = latestOnly((url, signal) => fetchImage(url, signal));

const gallery = createGallery({
  frame: $("gallery-frame"), img: $("gallery-img"), mark: $("gallery-mark"),
  sliceMark: $("slice-mark"), scroll: $("gallery-scroll"),
}, { onPick: (filter, channel) => pickFilter(filter, channel) });

const detail = createFilterDetail({
  slices: $("slices"), pager: $("slice-pager"), prev: $("slice-prev"), next: $("slice-next"),
  pageText: $("slice-page"),
}, { onPage: () => saveURL() });

const picker = createImagePicker($("picker"), { onChange: () => loadMap() });

function showError(error) {
  $("error").hidden = false;
  $("error").textContent = errorText(error);
}

function layerURL(layer) {
  return `${API}/filters/${encodeURIComponent(layer)}`;
}

function channelURL(what) {
  return `${API}/layers/${encodeURIComponent(state.layer)}/channels/${state.filter}/${what}`;
}

// ---------------------------------------------------------------- the gallery

function layerFacts(layer) {
  const [out, inputs, kh, kw] = layer.shape;
  const groups = layer.groups > 1 ? `, ${layer.groups} groups` : "";
  return `${out} filters of ${inputs} × ${kh} × ${kw}${groups}, stride ${layer.stride.join("×")}: `
    + `${layer.parameters.toLocaleString("en")} parameters. ${KINDS[layer.kind]}.`;
}

function drawGalleryLegend(layout) {
  const box = $("gallery-legend");
  if (layout.layer.kind === "rgb") {
    box.replaceChildren();
    return;
  }
  const note = layout.limit === null ? "one scale per filter: ± its largest |weight|"
    : "weights beyond ± the 99th percentile of |w| take the end colours";
  const limit = layout.limit === null ? 1 : layout.limit;
  const color = { kind: "diverging", zmin: -limit, zmax: limit };
  renderLegend(box, color, { diverging: layout.colorscale }, note);
  if (layout.limit === null) box.querySelector(".legend-ticks").replaceChildren();
}

async function loadLayer() {
  stage.dataset.state = "loading";
  const layer = LAYERS.get(state.layer);
  $("layer-facts").textContent = layerFacts(layer);
  const query = new URLSearchParams({ order: state.order, scale: state.scale, colors: schemeName() });
  let layout;
  try {
    layout = await fetchLayout(`${layerURL(state.layer)}?${query}`);
    await gallery.show(layout);
  } catch (error) {
    if (error.name === "AbortError") return;
    showError(error);
    stage.dataset.state = "error";
    return;
  }
  $("error").hidden = true;
  $("gallery-sub").textContent = `${state.layer}: ${layer.kind}, ${layer.shape.join(" × ")}`;
  const sorted = state.order === "norm" ? "strongest (largest L2 norm) first" : "in order";
  $("gallery-hint").textContent = `${layer.count} filters, ${sorted}; `
    + `${gallery.scale} screen pixels per weight. Click one.`;
  drawGalleryLegend(layout);
  stage.dataset.layer = state.layer;
  stage.dataset.state = "ready";
  if (state.filter !== null && state.filter < layer.count) {
    await pickFilter(state.filter, state.channel);
  } else {
    clearFilter();
  }
  saveURL();
}

// ---------------------------------------------------------------- one filter

function clearFilter() {
  shown = null;
  state.filter = null;
  state.channel = null;
  gallery.select(null);
  updateSteps();
  $("filter-panel").dataset.state = "empty";
  $("filter-title").textContent = "Click a filter above";
  $("filter-facts").textContent = "";
  $("slices").replaceChildren();
  $("slice-pager").hidden = true;
  $("map-panel").dataset.state = "empty";
  $("run").disabled = true;
  resetResponds();
  saveURL();
}

function filterFacts(data) {
  const bias = data.bias === null ? "no bias" : `bias ${fmt(data.bias, 4)}`;
  const inputs = data.input_channels;
  const reads = inputs.length === 1 ? `input channel ${inputs[0]}`
    : `input channels ${inputs[0]}–${inputs[inputs.length - 1]}`;
  return `L2 norm ${fmt(data.norm, 4)}, ${bias}; weights from ${fmt(data.range[0], 4)} `
    + `to ${fmt(data.range[1], 4)}; it reads ${reads}.`;
}

// The filter `delta` tiles away in gallery order (the arrows beside the filter's title).
function stepFilter(delta) {
  const order = gallery.layout ? gallery.layout.order : [];
  const at = order.indexOf(state.filter) + delta;
  if (at >= 0 && at < order.length) pickFilter(order[at]);
}

function updateSteps() {
  const order = gallery.layout ? gallery.layout.order : [];
  const at = order.indexOf(state.filter);
  $("filter-prev").disabled = at <= 0;
  $("filter-next").disabled = at < 0 || at >= order.length - 1;
}

let shown = null; // "layer/filter" whose maximisation and top digits the page shows

async function pickFilter(filter, channel = null) {
  const key = `${state.layer}/${filter}`;
  const changed = key !== shown; // another filter (or the first, from the URL)
  shown = key;
  state.filter = filter;
  state.channel = channel;
  gallery.select(filter, channel);
  updateSteps();
  const panel = $("filter-panel");
  panel.dataset.state = "loading";
  $("filter-title").textContent = `Filter ${filter} of ${state.layer}`;
  $("run").disabled = false;
  if (changed) resetResponds();
  saveURL();
  const maps = loadMap();
  const top = payload.digits && changed ? loadTopDigits() : null;
  const done = await fill(panel, async () => {
    const data = await fetchDetail(`${layerURL(state.layer)}/${filter}`);
    $("filter-facts").textContent = filterFacts(data);
    const focus = channel === null ? null : data.input_channels.indexOf(channel);
    await detail.show(data, { page: readPage(), focus: focus >= 0 ? focus : null });
    panel.dataset.filter = String(filter);
  });
  if (!done) return;
  saveURL();
  await Promise.all([maps, top]);
}

// `work()` fills `panel`: then it is ready, or shows the error; false when it was aborted
// (a newer request took over).
async function fill(panel, work) {
  try {
    await work();
    panel.dataset.state = "ready";
  } catch (error) {
    if (error.name === "AbortError") return false;
    showError(error);
    panel.dataset.state = "error";
  }
  return true;
}

let pageFromURL = null;
function readPage() {
  const page = pageFromURL;
  pageFromURL = null;
  return page || 0;
}

// ---------------------------------------------------------------- its feature map

function sizeImage(img, height, width, side) {
  const scale = Math.max(1, Math.floor(side / Math.max(height, width)));
  img.width = width * scale;
  img.height = height * scale;
}

async function loadMap() {
  if (state.filter === null || !picker.id) return;
  const panel = $("map-panel");
  panel.dataset.state = "loading";
  const url = `${layerURL(state.layer)}/${state.filter}/feature-map?colors=${schemeName()}`;
  const done = await fill(panel, async () => {
    const data = await picker.withImage((id) => {
      const form = new FormData();
      form.append("image_id", id);
      return fetchMap(url, form);
    });
    const seen = await fetchSeen(`${API}/input?image=${encodeURIComponent(data.image)}`);
    const [height, width] = data.shape;
    $("seen-img").src = seen.src;
    sizeImage($("seen-img"), seen.height, seen.width, MAP_SIDE);
    $("map-img").src = data.png;
    sizeImage($("map-img"), height, width, MAP_SIDE);
    $("map-channel").textContent = `${data.index} of ${data.layer}`;
    $("map-size").textContent = `${height} × ${width}, from ${fmt(data.min, 3)} to ${fmt(data.max, 3)}`;
    renderLegend($("map-legend"), data.color, data.stops, beforeWhat(data.then));
    panel.dataset.image = data.image;
    panel.dataset.filter = String(data.index);
  });
  if (done) saveURL();
}

// What the map is before: the layers that follow the convolution (none: it is the output).
function beforeWhat(then) {
  if (!then || !then.length) return "the convolution's output, nothing applied after it";
  return `before ${then.join(" and ")}`;
}

// ---------------------------------------------------------------- what it responds to

function resetResponds() {
  if (running) running.abort();
  running = null;
  const panel = $("responds");
  panel.dataset.state = "idle";
  $("responds-sub").textContent = state.filter === null ? "" : `channel ${state.filter} of ${state.layer}`;
  $("progress").value = 0;
  $("progress-text").textContent = "";
  $("maximized").hidden = true;
  $("cancel").disabled = true;
}

function settings() {
  const body = {};
  for (const name of ["steps", "size", "seed"]) {
    const input = $(name);
    const value = Number(input.value);
    input.classList.toggle("invalid", !Number.isInteger(value));
    body[name] = value;
  }
  return body;
}

function showProgress(bar, text, fraction, status) {
  bar.value = fraction;
  text.textContent = status === "queued" ? "waiting for a free worker…" : `${Math.round(fraction * 100)}%`;
}

async function maximize() {
  if (state.filter === null) return;
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  const panel = $("responds");
  panel.dataset.state = "running";
  $("cancel").disabled = false;
  $("maximized").hidden = true;
  const body = settings();
  try {
    const job = await startJob(channelURL("maximize/jobs"), {
      body,
      signal: controller.signal,
      onProgress: (fraction, status) => showProgress($("progress"), $("progress-text"), fraction, status),
    });
    const result = await getJSON(job.result, controller.signal);
    const img = $("maximized-img");
    img.src = `${job.result}?format=png`;
    await img.decode();
    const [height, width] = result.size;
    sizeImage(img, height, width, RESULT_SIDE);
    const start = result.curve[0];
    $("maximized-caption").textContent = `Channel ${result.channel} of ${result.layer}: `
      + `${result.settings.objective === "centre" ? "centre unit" : "mean activation"} `
      + `${fmt(start, 3)} at the start → ${fmt(result.activation, 3)} after ${result.settings.steps} steps `
      + `(${height} × ${width} pixels, seed ${result.settings.seed}).`;
    $("maximized").hidden = false;
    panel.dataset.state = "done";
  } catch (error) {
    if (controller !== running) return; // a newer run replaced this one
    if (error.name === "AbortError") {
      panel.dataset.state = "cancelled";
      $("progress-text").textContent = "Cancelled: the server stopped the computation.";
    } else {
      panel.dataset.state = "error";
      $("progress-text").textContent = errorText(error);
    }
  } finally {
    if (controller === running) {
      running = null;
      $("cancel").disabled = true;
    }
  }
  saveURL();
}

// ---------------------------------------------------------------- the nine top digits

function digitFigure(digit, i, strip, size) {
  const [height, width] = size;
  const scale = DIGIT_SIDE / width;
  const item = document.createElement("li");
  const picture = document.createElement("div");
  picture.className = "digit-picture";
  picture.style.width = `${DIGIT_SIDE}px`;
  picture.style.height = `${height * scale}px`;
  picture.style.backgroundImage = `url("${strip}")`;
  picture.style.backgroundSize = `${(9 * (width + DIGIT_GAP) - DIGIT_GAP) * scale}px ${height * scale}px`;
  picture.style.backgroundPosition = `${-i * (width + DIGIT_GAP) * scale}px 0`;
  const [top, left, bottom, right] = digit.box;
  const box = document.createElement("div");
  box.className = "digit-field";
  box.style.left = `${left * scale}px`;
  box.style.top = `${top * scale}px`;
  box.style.width = `${(right - left) * scale}px`;
  box.style.height = `${(bottom - top) * scale}px`;
  picture.append(box);
  const caption = document.createElement("span");
  caption.className = "digit-caption";
  caption.textContent = `digit ${digit.label}, peak ${fmt(digit.activation, 3)}`;
  caption.title = "The digit's label, and the channel's largest value on it (inside the box)";
  item.append(picture, caption);
  return item;
}

async function loadTopDigits() {
  if (topRun) topRun.abort();
  const controller = new AbortController();
  topRun = controller;
  const panel = $("top");
  panel.dataset.state = "loading";
  $("top-sub").textContent = `channel ${state.filter} of ${state.layer}`;
  $("top-digits").replaceChildren();
  try {
    const job = await startJob(channelURL("top-digits/jobs"), {
      signal: controller.signal,
      onProgress: (fraction, status) => showProgress($("top-progress"), $("top-text"), fraction, status),
    });
    const result = await getJSON(job.result, controller.signal);
    const strip = `${job.result}?format=png`;
    $("top-digits").replaceChildren(...result.digits.map((d, i) => digitFigure(d, i, strip, result.size)));
    $("top-text").textContent = "";
    panel.dataset.channel = String(result.channel);
    panel.dataset.state = "ready";
  } catch (error) {
    if (controller !== topRun || error.name === "AbortError") return;
    $("top-text").textContent = errorText(error);
    panel.dataset.state = "error";
  }
}

// ---------------------------------------------------------------- the URL and the controls

function saveURL() {
  writeParams({
    layer: state.layer,
    order: state.order === "index" ? null : state.order,
    scale: state.scale === "layer" ? null : state.scale,
    filter: state.filter,
    channel: state.channel,
    page: detail.page ? detail.page + 1 : null,
    image: picker.id && picker.id !== payload.default_image ? picker.id : null,
    steps: $("steps").value === String(payload.maximize.steps) ? null : $("steps").value,
    size: $("size").value === String(payload.maximize.size) ? null : $("size").value,
    seed: $("seed").value === "0" ? null : $("seed").value,
  });
}

function wire() {
  $("layer").addEventListener("change", (event) => {
    state.layer = event.target.value;
    state.filter = null;
    state.channel = null;
    loadLayer();
  });
  for (const name of ["order", "scale"]) {
    $(name).addEventListener("change", (event) => {
      state[name] = event.target.value;
      loadLayer();
    });
  }
  for (const name of ["steps", "size", "seed"]) $(name).addEventListener("change", saveURL);
  $("run").addEventListener("click", maximize);
  $("gallery-scroll").addEventListener("keydown", (event) => { // the gallery by keyboard
    const delta = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!delta || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    stepFilter(delta);
  });
  $("filter-prev").addEventListener("click", () => stepFilter(-1));
  $("filter-next").addEventListener("click", () => stepFilter(1));
  $("cancel").addEventListener("click", () => {
    if (running) running.abort();
  });
}

function init() {
  const params = readParams();
  const layer = params.get("layer");
  state.layer = LAYERS.has(layer) ? layer : payload.layers[0].name;
  state.order = params.get("order") === "norm" ? "norm" : "index";
  state.scale = params.get("scale") === "filter" ? "filter" : "layer";
  const filter = Number.parseInt(params.get("filter"), 10);
  state.filter = Number.isInteger(filter) && filter >= 0 ? filter : null;
  const channel = Number.parseInt(params.get("channel"), 10);
  state.channel = Number.isInteger(channel) && channel >= 0 ? channel : null;
  pageFromURL = Math.max(0, (Number.parseInt(params.get("page"), 10) || 1) - 1);
  for (const name of ["steps", "size", "seed"]) {
    if (params.get(name) !== null) $(name).value = params.get(name);
  }
  $("layer").value = state.layer;
  document.querySelector(`input[name="order"][value="${state.order}"]`).checked = true;
  document.querySelector(`input[name="scale"][value="${state.scale}"]`).checked = true;
  picker.select(params.get("image") || payload.default_image);
  wire();
  loadLayer();
}

init();
