// The network explorer (/networks/{name}): an image (sample, upload or a digit drawn on the
// page) through a trained network: what the network sees, its prediction, the feature maps
// of every layer, and, for any activation clicked, its receptive field in the input and the
// computation that produced it. Every number comes from the server (/api/models/...).

import { drawGrid, readableDigits, readableFont } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import * as IP from "../draw/imageplot.js";
import { renderLegend } from "../draw/legend.js";
import { errorText, fetchImage, getJSON, latestOnly, loadImage, postForm } from "../lib/api.js";
import { schemeName } from "../lib/colormaps.js";
import { $, clearFailure, readPayload, showFailure } from "../lib/dom.js";
import { fmt, percent } from "../lib/format.js";
import { isPresenting, onLayoutChange } from "../lib/presenter.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createFeatureMaps } from "../widgets/feature-maps.js";
import { createNetworkInput } from "../widgets/network-input.js";
import { drawPredictions } from "../widgets/predictions.js";
import { createUnitView } from "../widgets/unit-view.js";

const payload = readPayload();
const MODEL = payload.model;
const LAYERS = payload.architecture.layers;
const INPUT_SIZE = payload.architecture.input_shape.slice(1); // [H, W]
const API = `/api/models/${encodeURIComponent(MODEL.name)}`;
const SEEN_SIDE = 330;
const MAP_SIDE = 400;
const FIELD_SIDE = 300;
const NARROW = 1400; // under this width (a projector's 1280) the unit's sum needs the room
const NARROW_SIDES = [320, 240];
const PRESENTED_SHARES = [0.32, 0.24]; // presenter mode: of the screen's height

// The inspector's enlarged map and receptive field (pixels a side): smaller on a
// projector's screen and in presenter mode (they share its height), never wider than a
// phone's. The figures' column is as wide as the map (--map-side, networks.css).
function sides() {
  let [map, field] = window.innerWidth < NARROW ? NARROW_SIDES : [MAP_SIDE, FIELD_SIDE];
  if (isPresenting()) {
    map = Math.min(map, Math.round(window.innerHeight * PRESENTED_SHARES[0]));
    field = Math.min(field, Math.round(window.innerHeight * PRESENTED_SHARES[1]));
  }
  const phone = window.innerWidth - 80; // the dialog's margins and padding
  dialog.style.setProperty("--map-side", `${Math.min(map, phone)}px`);
  return { map: Math.min(map, phone), field: Math.min(field, phone) };
}
const mapSide = () => sides().map;
const fieldSide = () => sides().field;
const FIELD_COLOR = "#f59e0b";
const stage = $("stage");
const dialog = $("inspector");

let seen = null; // { id, img }: the picture the network sees, as drawn
let field = null; // the receptive field shown: { box, global }
let labels = null; // class labels, learned from the predictions (the output layer's bars)
let pick = null; // what the inspector shows: { layer, channel, row, col } or { layer, index }
let mapView = null; // the enlarged map: { layer, channel, height, width }

const predict = latestOnly((form, signal) => postForm(`${API}/predict?k=${payload.k}`, form, signal));
const fetchUnit = latestOnly((url, signal) => getJSON(url, signal));
const fetchSeen = latestOnly((url, signal) => fetchImage(url, signal));

const input = createNetworkInput({
  pickerRoot: $("picker"),
  canvas: $("digit-canvas"),
  onChange: (final) => refresh(final),
  onClear: () => showEmpty(),
});

const maps = createFeatureMaps($("layers"), {
  layers: LAYERS,
  labels: payload.labels,
  load: (layer, params) => input.withImage((id) => getJSON(activationsURL(layer, id, params))),
  onPick: (found) => openInspector(found),
});

const unitView = createUnitView({
  title: $("unit-title"),
  summary: $("unit-summary"),
  stepperBox: $("unit-stepper-box"),
  stepper: $("unit-stepper"),
  grids: $("unit-grids"),
  expression: $("unit-expression"),
  chart: $("unit-chart"),
  table: $("unit-table"),
  note: $("unit-note"),
}, {
  layers: LAYERS, inputShape: payload.architecture.input_shape, playground: payload.playground_limits,
});

// A layer's maps, painted by the server in the viewer's colour scheme (the lecture tools'
// choice: choosing another draws the page again).
function activationsURL(layer, id, { order, scale, page, per_page: perPage }) {
  const query = new URLSearchParams({
    image: id, order, scale, page: String(page), per_page: String(perPage), colors: schemeName(),
  });
  return `${API}/layers/${encodeURIComponent(layer)}/activations?${query}`;
}

function unitURL(found, id) {
  const query = new URLSearchParams({ image: id });
  if (found.index !== undefined) query.set("index", String(found.index));
  else for (const key of ["channel", "row", "col"]) query.set(key, String(found[key]));
  return `${API}/layers/${encodeURIComponent(found.layer)}/unit?${query}`;
}

// ---------------------------------------------------------------- the input and the prediction

async function refresh(final) {
  stage.dataset.state = "loading";
  try {
    const data = await predict(input.form());
    input.adopt(data.image);
    document.querySelectorAll("#stage .placeholder").forEach((note) => note.remove());
    drawPredictions($("prediction-plot"), data.predictions, {
      width: $("prediction-plot").clientWidth || 420,
      onPick: payload.labels_pixels ? null
        : (index) => openInspector({ layer: LAYERS[LAYERS.length - 1].name, index, softmax: true }),
      inClassOrder: data.predictions.length === MODEL.num_classes,
    });
    labels = data.predictions;
    const top = data.predictions[0];
    $("prediction-note").textContent = `${top.label}, ${percent(top.probability)}`;
    const img = await fetchSeen(`${API}/input?image=${encodeURIComponent(data.image)}`);
    seen = { id: data.image, img };
    drawSeen();
  } catch (error) {
    if (error.name !== "AbortError" && !input.isEmpty) showFailure(stage, $("error"), error);
    return;
  }
  clearFailure(stage, $("error"));
  if (final) maps.setImage(input.id);
  saveURL();
  stage.dataset.image = input.id; // what the prediction shown is of
  stage.dataset.final = String(final); // false while the pen is still drawing
  stage.dataset.state = "ready";
}

function placeholder(div, text) {
  window.Plotly.purge(div);
  const note = document.createElement("p");
  note.className = "hint placeholder";
  note.textContent = text;
  div.replaceChildren(note);
}

// The drawing was cleared: no prediction, no picture, the maps dimmed until the next stroke.
function showEmpty() {
  predict.cancel();
  fetchSeen.cancel();
  if (dialog.open) closeInspector();
  placeholder($("prediction-plot"), "Draw a digit: the prediction follows your pen.");
  placeholder($("seen-plot"), "Nothing drawn yet.");
  $("prediction-note").textContent = "";
  $("error").hidden = true;
  seen = null;
  labels = null;
  maps.setImage(null);
  stage.classList.remove("stale");
  stage.dataset.image = "";
  stage.dataset.state = "empty";
  saveURL();
}

function fieldShapes(div) {
  if (!field) return [];
  const [top, left, bottom, right] = field.box;
  return IP.highlight(div, top, left, bottom - 1, right - 1, FIELD_COLOR);
}

function drawPicture(div, side) {
  const [h, w] = INPUT_SIZE;
  const size = IP.figureSize(h, w, side, side);
  const layout = IP.imageLayout(h, w, size, { dragmode: false });
  return IP.draw(div, [IP.pictureTrace(seen.img, h, w)], layout).then(() => {
    window.Plotly.relayout(div, { shapes: fieldShapes(div) });
  });
}

function drawSeen() {
  drawPicture($("seen-plot"), SEEN_SIDE);
}

// ---------------------------------------------------------------- the inspector

function layerRow(name) {
  return LAYERS.find((row) => row.name === name);
}

function fieldText(unit) {
  const [top, left, bottom, right] = unit.receptive_field.box;
  const [h, w] = unit.input_size;
  if (unit.receptive_field.global) {
    return `Every pixel of the ${h} × ${w} input: after a dense layer, a flatten or a global pool, each unit sees the whole picture.`;
  }
  const [fh, fw] = unit.receptive_field.size;
  const [jh, jw] = unit.receptive_field.jump;
  const clipped = bottom - top !== fh || right - left !== fw;
  return `Rows ${top}–${bottom - 1} and columns ${left}–${right - 1} of the ${h} × ${w} input: `
    + `${bottom - top} × ${right - left} pixels${clipped ? ` (the field is ${fh} × ${fw}; the rest of it falls on the padding)` : ""}. `
    + `Neighbouring units of ${unit.layer} look ${jh === jw ? jh : `${jh} × ${jw}`} pixels apart.`;
}

async function openInspector(found) {
  pick = found;
  if (!dialog.open) {
    dialog.showModal();
    dialog.focus(); // not its first button ("◀ channel"): Space plays the steps, as elsewhere
  }
  const row = layerRow(found.layer);
  const isMap = row.kind === "maps";
  const position = isMap ? `channel ${found.channel}, row ${found.row}, column ${found.col}`
    : (row.output_shape.length === 3 ? `channel ${found.index}` : `unit ${found.index}`);
  $("inspector-title").textContent = `${found.layer} · ${position}`;
  $("map-figure").hidden = !isMap;
  $("channel-prev").hidden = !isMap;
  $("channel-next").hidden = !isMap;
  const body = $("inspector-body");
  body.dataset.state = "loading";
  saveURL();
  try {
    if (isMap) await drawMap(found, row);
    const query = row.kind === "maps" || row.output_shape.length === 1 ? found
      : { layer: found.layer, channel: found.index, row: 0, col: 0 };
    const unit = await input.withImage((id) => fetchUnit(unitURL(query, id)));
    showUnit(unit, found);
  } catch (error) {
    if (error.name === "AbortError" || input.isEmpty) return;
    $("inspector-error").hidden = false;
    $("inspector-error").textContent = errorText(error);
    body.dataset.state = "error";
    return;
  }
  $("inspector-error").hidden = true;
  body.dataset.state = "ready";
}

function showUnit(unit, found) {
  field = { box: unit.receptive_field.box, global: unit.receptive_field.global };
  unitView.show(unit, { chosen: found.softmax ? found.index : null });
  if (found.softmax) $("unit-table").scrollIntoView({ block: "nearest" });
  $("field-caption").textContent = unit.receptive_field.global ? "the whole picture"
    : `${unit.receptive_field.box[2] - unit.receptive_field.box[0]} × ${unit.receptive_field.box[3] - unit.receptive_field.box[1]} pixels`;
  $("field-text").textContent = fieldText(unit);
  drawPicture($("field-plot"), fieldSide());
  drawSeen();
  $("map-caption").textContent = mapView ? `${mapView.layer}, channel ${mapView.channel}: value ${fmt(unit.value)} at row ${found.row}, column ${found.col}` : "";
  if (mapView) markCell(found.row, found.col);
}

// The map enlarged: numbers in the cells when the map is small, else its picture.
async function drawMap(found, row) {
  const [, height, width] = row.output_shape;
  const { order, scale } = maps.options;
  if (mapView && mapView.layer === found.layer && mapView.channel === found.channel
      && mapView.image === input.id && mapView.scale === scale && mapView.side === mapSide()) return;
  const params = { order: "index", scale, page: found.channel, per_page: 1 };
  const data = await input.withImage((id) => getJSON(activationsURL(found.layer, id, params)));
  const map = data.maps[0];
  const div = $("map-plot");
  window.Plotly.purge(div);
  delete div.dataset.bound;
  const color = map.color;
  if (data.values) {
    const grid = data.values[0];
    const cell = H.cellSize(height, width, mapSide());
    const colorscale = data.stops[color.kind];
    const scaleOf = { colorscale, zmin: color.zmin, zmax: color.zmax };
    const digits = readableDigits(cell, grid, [2, 1]);
    await drawGrid(div, grid, { cell, scale: scaleOf, digits, minFont: readableFont(), strict: true });
    div.on("plotly_click", (event) => selectCell(event.points[0].y, event.points[0].x));
  } else {
    const img = await loadImage(map.png);
    const size = IP.figureSize(height, width, mapSide(), mapSide());
    await IP.draw(div, [IP.pictureTrace(img, height, width)], IP.imageLayout(height, width, size, { dragmode: false }));
    IP.onPixel(div, () => ({ height, width }), selectCell, { hover: false });
  }
  renderLegend($("map-legend"), color, data.stops, scale === "map" ? "this map's own scale" : `the scale of every map of ${found.layer}`);
  mapView = {
    layer: found.layer, channel: found.channel, height, width, image: input.id, scale, order, side: mapSide(),
  };
}

function markCell(row, col) {
  const div = $("map-plot");
  if (!div.layout) return;
  const shapes = div.querySelector(".heatmaplayer")
    ? [H.rect(row, col, row, col, { color: H.COLORS.current, width: 4 })]
    : IP.highlight(div, row, col, row, col, H.COLORS.current);
  window.Plotly.relayout(div, { shapes });
}

function selectCell(row, col) {
  if (!pick || pick.channel === undefined) return;
  openInspector({ layer: pick.layer, channel: pick.channel, row, col });
}

function stepChannel(delta) {
  if (!pick || pick.channel === undefined) return;
  const count = layerRow(pick.layer).output_shape[0];
  openInspector({ ...pick, channel: (pick.channel + delta + count) % count });
}

function closeInspector() {
  dialog.close();
}

// ---------------------------------------------------------------- URL and controls

function encodePick(found) {
  if (!found) return null;
  return found.index !== undefined ? `${found.layer}:${found.index}`
    : `${found.layer}:${found.channel},${found.row},${found.col}`;
}

function decodePick(text) {
  const match = /^(.+):([\d,]+)$/.exec(text || "");
  if (!match || !layerRow(match[1])) return null;
  const numbers = match[2].split(",").map(Number);
  const row = layerRow(match[1]);
  if (row.kind === "maps" && numbers.length === 3) {
    const [channel, r, c] = numbers;
    const [C, Hh, W] = row.output_shape;
    if (channel < C && r < Hh && c < W) return { layer: match[1], channel, row: r, col: c };
  }
  if (row.kind === "vector" && numbers.length === 1 && numbers[0] < row.output_shape[0]) {
    return { layer: match[1], index: numbers[0] };
  }
  return null;
}

function saveURL() {
  const { order, scale } = maps.options;
  writeParams({
    image: input.id || null,
    order: order === "strength" ? null : order,
    scale: scale === "layer" ? null : scale,
    unit: dialog.open ? encodePick(pick) : null,
  });
}

function bind() {
  $("order").addEventListener("change", (e) => { maps.setOptions({ order: e.target.value }); saveURL(); });
  $("scale").addEventListener("change", (e) => { maps.setOptions({ scale: e.target.value }); saveURL(); });
  $("jump").addEventListener("change", (e) => maps.scrollTo(Number(e.target.value)));
  $("inspector-close").addEventListener("click", closeInspector);
  dialog.addEventListener("close", () => {
    pick = null;
    unitView.stepper.setCount(0); // no steps: the keyboard (space, arrows) scrolls the page again
    saveURL();
  });
  $("channel-prev").addEventListener("click", () => stepChannel(-1));
  $("channel-next").addEventListener("click", () => stepChannel(1));
  $("show-softmax")?.addEventListener("click", () => {
    const top = labels && labels[0];
    openInspector({ layer: LAYERS[LAYERS.length - 1].name, index: top ? top.index : 0, softmax: true });
  });
  const clear = $("draw-clear");
  if (clear) clear.addEventListener("click", () => input.clearDrawing());
  onLayoutChange(() => refitInspector());
}

// Presenter mode switched, or the window resized: the open inspector's figures sized again,
// at the step shown.
async function refitInspector() {
  if (!dialog.open || !pick || $("inspector-body").dataset.state !== "ready") return;
  const row = layerRow(pick.layer);
  if (row.kind === "maps") {
    await drawMap(pick, row);
    markCell(pick.row, pick.col);
  }
  drawPicture($("field-plot"), fieldSide());
  unitView.refit();
}

// ---------------------------------------------------------------- start

bind();
const params = readParams();
const order = params.get("order") === "index" ? "index" : "strength";
const scale = params.get("scale") === "map" ? "map" : "layer";
$("order").value = order;
$("scale").value = scale;
maps.setOptions({ order, scale });
input.select(params.get("image") || payload.default_image);
const startPick = decodePick(params.get("unit"));
refresh(true).then(() => {
  if (startPick && stage.dataset.state === "ready") openInspector(startPick);
});
