// The segmentation view (/networks/{name}/segment): an image (a sample scene, an upload or a
// few digits drawn on the page) through a network that labels every pixel: the mask over
// the picture in the classes' colours, the legend with what each class covers, each class's
// probability map, and for a clicked pixel its most likely classes and which input pixels
// decided its class (the gradient of its class logit, by the chosen method). Every number
// comes from the server (POST /api/models/{name}/segment, GET .../segment/saliency).

import { renderLegend } from "../draw/legend.js";
import { getJSON, latestOnly, postForm } from "../lib/api.js";
import { $, clearFailure, readPayload, showFailure } from "../lib/dom.js";
import { fmt, percent } from "../lib/format.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createNetworkInput } from "../widgets/network-input.js";

const payload = readPayload();
const MODEL = payload.model;
const API = `/api/models/${encodeURIComponent(MODEL.name)}`;
const [HEIGHT, WIDTH] = MODEL.input_shape.slice(1);
const CLASSES = payload.classes;
const LINE_WIDTH = 0.04; // of the canvas side: about 2.5 of the scenes' 64 pixels, as MNIST's strokes
const stage = $("stage");

let result = null; // the last segmentation shown
let pixel = null; // [row, col] explained, or null
let chosen = false; // the pixel was clicked (or came in the URL): kept when the image changes

const segment = latestOnly((form, signal) => postForm(`${API}/segment`, form, signal));
const explainPixel = latestOnly((url, signal) => getJSON(url, signal));

const input = createNetworkInput({
  pickerRoot: $("picker"),
  canvas: $("digit-canvas"),
  lineWidth: LINE_WIDTH,
  onChange: (final) => refresh(final),
  onClear: () => showEmpty(),
});

// ---------------------------------------------------------------- the mask

async function refresh(final) {
  stage.dataset.state = "loading";
  let data;
  try {
    data = await segment(input.form());
  } catch (error) {
    if (error.name !== "AbortError" && !input.isEmpty) showFailure(stage, $("error"), error);
    return;
  }
  input.adopt(data.image);
  clearFailure(stage, $("error"));
  result = data;
  showMask(data);
  if (!chosen) pixel = brightestPixel(data);
  stage.dataset.image = data.image;
  stage.dataset.final = String(final);
  stage.dataset.state = "ready";
  saveURL();
  if (final) await explain();
}

function showMask(data) {
  const seen = `${API}/input?image=${encodeURIComponent(data.image)}`;
  $("seg-input").src = seen;
  $("saliency-input").src = seen;
  $("seg-mask").src = data.mask_png;
  const found = data.found.map((i) => CLASSES[i].label);
  $("seg-found").textContent = found.length ? `found: ${found.join(", ")}` : "only background";
  for (const item of $("legend").children) {
    const c = data.classes[Number(item.dataset.class)];
    item.querySelector(".seg-count").textContent = c.pixels ? `${c.pixels} px` : "";
    item.classList.toggle("absent", c.pixels === 0);
  }
  for (const figure of $("prob-grid").children) {
    const c = data.classes[Number(figure.dataset.class)];
    figure.querySelector("img").src = c.png;
    figure.querySelector(".seg-mean").textContent = `mean ${percent(c.mean_probability)}`;
  }
}

// The most confident pixel of the class that covers most (background when nothing else).
function brightestPixel(data) {
  const wanted = data.found.length ? data.found[0] : 0;
  let best = null;
  data.mask.forEach((row, r) => row.forEach((c, col) => {
    if (c !== wanted) return;
    const p = data.confidence[r][col];
    if (!best || p > best.p) best = { p, at: [r, col] };
  }));
  return best ? best.at : [Math.floor(HEIGHT / 2), Math.floor(WIDTH / 2)];
}

function showEmpty() {
  segment.cancel();
  explainPixel.cancel();
  result = null;
  pixel = null;
  chosen = false;
  for (const id of ["seg-input", "seg-mask", "saliency-input", "saliency-map"]) $(id).removeAttribute("src");
  $("seg-found").textContent = "draw a few digits";
  $("pixel-probs").replaceChildren();
  $("pixel-title").textContent = "click a pixel of the picture";
  for (const id of ["seg-marker", "saliency-marker"]) $(id).hidden = true;
  $("error").hidden = true;
  stage.dataset.image = "";
  stage.dataset.state = "empty";
  saveURL();
}

// ---------------------------------------------------------------- one pixel

function placeMarker(marker, [row, col]) {
  marker.style.left = `${(col / WIDTH) * 100}%`;
  marker.style.top = `${(row / HEIGHT) * 100}%`;
  marker.style.width = `${100 / WIDTH}%`;
  marker.style.height = `${100 / HEIGHT}%`;
  marker.hidden = false;
}

async function explain() {
  if (!pixel || !result) return;
  const [row, col] = pixel;
  placeMarker($("seg-marker"), pixel);
  const method = $("method").value;
  const label = CLASSES[result.mask[row][col]].label;
  $("pixel-title").textContent = `row ${row}, column ${col}: ${label}`;
  $("pixel").dataset.state = "loading";
  let data;
  try {
    data = await input.withImage((id) => explainPixel(
      `${API}/segment/saliency?${new URLSearchParams({ image: id, row, col, method })}`));
  } catch (error) {
    if (error.name !== "AbortError") showFailure(stage, $("error"), error);
    return;
  }
  $("saliency-map").src = data.png;
  placeMarker($("saliency-marker"), pixel);
  const low = data.signed ? -data.limit : 0;
  const kind = data.signed ? "diverging" : "sequential";
  renderLegend($("saliency-legend"), { kind, zmin: low, zmax: data.limit }, { [kind]: data.colorscale },
    data.signed ? "red raised the class's logit, blue lowered it" : "|gradient|");
  $("pixel-probs").replaceChildren(...data.predictions.map((p) => {
    const item = document.createElement("li");
    item.innerHTML = `<span class="chip"></span><span class="seg-label"></span><meter min="0" max="1"></meter><span class="seg-p"></span>`;
    item.querySelector(".chip").style.background = CLASSES[p.index].color;
    item.querySelector(".seg-label").textContent = p.label;
    item.querySelector("meter").value = p.probability;
    item.querySelector(".seg-p").textContent = percent(p.probability);
    return item;
  }));
  const sum = data.completeness ? ` Σ map = ${fmt(data.completeness.sum, 3)}, the logit's change from the baseline ${fmt(data.completeness.expected, 3)}.` : "";
  $("pixel-note").textContent = `${data.target.label} at row ${row}, column ${col} (${percent(data.target.probability)}): `
    + `${payload.methods.find((m) => m.name === method).title} of its logit with respect to every input pixel.${sum}`;
  $("pixel").dataset.state = "ready";
  $("pixel").dataset.pixel = `${row},${col}`;
}

function pixelAt(event) {
  const box = $("seg-picture").getBoundingClientRect();
  const col = Math.floor(((event.clientX - box.left) / box.width) * WIDTH);
  const row = Math.floor(((event.clientY - box.top) / box.height) * HEIGHT);
  if (row < 0 || col < 0 || row >= HEIGHT || col >= WIDTH) return null;
  return [row, col];
}

// ---------------------------------------------------------------- the URL and the controls

function saveURL() {
  writeParams({
    image: input.id || null,
    pixel: pixel ? pixel.join(",") : null,
    method: $("method").value === payload.methods[0].name ? null : $("method").value,
  });
}

function bind() {
  $("seg-picture").addEventListener("click", (event) => {
    const at = pixelAt(event);
    if (!at || !result) return;
    pixel = at;
    chosen = true;
    saveURL();
    explain();
  });
  $("method").addEventListener("change", () => { saveURL(); explain(); });
  $("opacity").addEventListener("input", (event) => {
    $("seg-mask").style.opacity = event.target.value;
    $("opacity-value").textContent = percent(Number(event.target.value));
  });
  $("draw-clear").addEventListener("click", () => input.clearDrawing());
}

bind();
const params = readParams();
const method = params.get("method");
if (payload.methods.some((m) => m.name === method)) $("method").value = method;
const start = (params.get("pixel") || "").split(",").map(Number);
if (start.length === 2 && start.every((n) => Number.isInteger(n) && n >= 0) && start[0] < HEIGHT && start[1] < WIDTH) {
  pixel = start;
  chosen = true;
}
$("seg-mask").style.opacity = $("opacity").value;
input.select(params.get("image") || payload.default_image);
refresh(true);
