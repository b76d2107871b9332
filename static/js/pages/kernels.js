// Kernels on photos: pick or type a kernel, apply it to a photo on the server (each of R, G, B,
// or the gray image), see input and output side by side, point at an output pixel to see the
// neighbourhood, the kernel and the weighted sum that made it, and compare several kernels.
// Every number shown comes from the server (POST /api/kernels, POST /api/kernels/pixel).

import { expressionLine, formulaLines } from "../draw/expression.js";
import { plotSlots } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import * as IP from "../draw/imageplot.js";
import { fetchImage, latestOnly, postJSON } from "../lib/api.js";
import { createControls } from "../lib/controls.js";
import { $, clearFailure, element, readPayload, showFailure } from "../lib/dom.js";
import { fmt, productsText } from "../lib/format.js";
import { clone, resize } from "../lib/shapes.js";
import {
  decodeArray, decodePair, encodeArray, encodePair, readParams, writeParams,
} from "../lib/urlstate.js";
import { renderGrids } from "../widgets/grid-editor.js";
import { createImagePicker } from "../widgets/image-picker.js";

const payload = readPayload();
const IMAGES = payload.images;
const LIMITS = payload.limits;
const KERNELS = Object.fromEntries(payload.kernels.map((k) => [k.name, k]));
const DEFAULT_KERNEL = "sharpen";
const CLASSIC_SET = ["identity", "sharpen", "box_blur", "gaussian_blur_5", "laplacian", "outline",
  "emboss", "sobel_left", "sobel_top", "prewitt_right"];
const FIGURE_HEIGHT = 470;
const TILE_SIDE = 360;
const EDIT_DELAY_MS = 300;
const CHANNEL_COLORS = { R: "#dc2626", G: "#16a34a", B: "#2563eb", gray: "#64748b" };
const stage = $("stage");
const controls = createControls($("controls"));
const { field } = controls;

let config = null; // { image, preset, kernel, normalize, stride, padding, channels, display, px, compare }
let result = null; // the last answer of POST /api/kernels
let inputPicture = { key: "", img: null };
let bound = false;
let detail = null; // the last answer of POST /api/kernels/pixel

const apply = latestOnly((body, signal) => postJSON("/api/kernels", body, signal));
const explain = latestOnly((body, signal) => postJSON("/api/kernels/pixel", body, signal));
const picker = createImagePicker($("picker"), {
  onChange(id) {
    config.image = id;
    config.px = null;
    compute();
  },
});

// ---------------------------------------------------------------- settings

function presetKernel(name) {
  return clone(KERNELS[name].weights);
}

function samePadding(kernel) {
  return [Math.floor(kernel.length / 2), Math.floor(kernel[0].length / 2)];
}

function decodeKernel(text) {
  if (KERNELS[text]) return { preset: text, kernel: presetKernel(text) };
  const kernel = decodeArray(text);
  const ok = kernel && kernel.length <= LIMITS.max_kernel && Array.isArray(kernel[0])
    && !Array.isArray(kernel[0][0]) && kernel[0].length <= LIMITS.max_kernel;
  return ok ? { preset: "", kernel } : null;
}

function encodeKernel(item) {
  return item.preset || encodeArray(item.kernel);
}

function fromURL() {
  const q = readParams();
  const chosen = decodeKernel(q.get("kernel") || DEFAULT_KERNEL) || decodeKernel(DEFAULT_KERNEL);
  const px = (q.get("px") || "").split(",").map(Number);
  return {
    image: q.get("image") || IMAGES.default,
    ...chosen,
    normalize: q.get("normalize") === "1",
    stride: decodePair(q.get("stride"), [1, 1]),
    padding: decodePair(q.get("padding"), samePadding(chosen.kernel)),
    channels: q.get("channels") === "gray" ? "gray" : "rgb",
    display: ["clip", "abs", "minmax"].includes(q.get("display")) ? q.get("display") : "clip",
    px: px.length === 2 && px.every(Number.isInteger) ? { row: px[0], col: px[1] } : null,
    compare: (q.get("compare") || "").split("~").filter(Boolean).map(decodeKernel).filter(Boolean),
  };
}

function saveURL() {
  const params = {
    image: picker.id,
    kernel: encodeKernel(config),
    normalize: config.normalize ? "1" : "0",
    stride: encodePair(config.stride),
    padding: encodePair(config.padding),
    channels: config.channels,
    display: config.display,
  };
  params.px = config.px ? `${config.px.row},${config.px.col}` : null; // null: drop the key
  params.compare = config.compare.length ? config.compare.map(encodeKernel).join("~") : null;
  writeParams(params);
}

function body(id, kernel = config.kernel) {
  return {
    image: id, kernel, normalize: config.normalize, stride: config.stride, padding: config.padding,
    channels: config.channels, display: config.display,
  };
}

// ---------------------------------------------------------------- controls

function showConfig() {
  $("preset").value = config.preset;
  $("kernel-description").textContent = config.preset ? KERNELS[config.preset].description : "";
  controls.set({ k_h: config.kernel.length, k_w: config.kernel[0].length });
  field("normalize").checked = config.normalize;
  controls.setPair("padding", config.padding);
  controls.setPair("stride", config.stride);
  controls.setChoice("channels", config.channels);
  $("display").value = config.display;
  $("display-text").textContent = payload.displays[config.display];
  renderEditor();
}

function renderEditor() {
  $("kernel-shape").textContent = `${config.kernel.length} × ${config.kernel[0].length}`;
  renderGrids($("kernel-editor"), [{ label: "weights", values: config.kernel }], (_, r, c, value) => {
    config.kernel[r][c] = value;
    becameCustom();
    schedule();
  });
}

function becameCustom() {
  config.preset = "";
  $("preset").value = "";
  $("kernel-description").textContent = "";
}

let timer = null;
function schedule(delay = EDIT_DELAY_MS) {
  stage.dataset.state = "loading"; // pending from the edit on, not only once the request starts
  clearTimeout(timer);
  timer = setTimeout(compute, delay);
}

function onSizeChange() {
  const rows = controls.int("k_h", 1, LIMITS.max_kernel);
  const cols = controls.int("k_w", 1, LIMITS.max_kernel);
  config.kernel = resize(config.kernel, rows, cols);
  config.padding = samePadding(config.kernel);
  becameCustom();
  showConfig();
  schedule(0);
}

function onSettingsChange() {
  config.padding = controls.pair("padding", 0, LIMITS.max_padding);
  config.stride = controls.pair("stride", 1, LIMITS.max_stride);
  config.normalize = field("normalize").checked;
  config.channels = controls.choice("channels");
  config.display = $("display").value;
  $("display-text").textContent = payload.displays[config.display];
  schedule(0);
}

function usePreset(name) {
  config.preset = name;
  config.kernel = presetKernel(name);
  config.padding = samePadding(config.kernel);
  showConfig();
  schedule(0);
}

function bindControls() {
  $("preset").addEventListener("change", (event) => {
    if (KERNELS[event.target.value]) usePreset(event.target.value);
  });
  controls.onChange(["k_h", "k_w"], onSizeChange);
  controls.onChange(["normalize", "padding_h", "padding_w", "stride_h", "stride_w", "display", "channels"],
    onSettingsChange);
  $("compare-add").addEventListener("click", () => addTiles([{ preset: config.preset, kernel: clone(config.kernel) }]));
  $("compare-classic").addEventListener("click", () => addTiles(CLASSIC_SET.map((name) => ({ preset: name, kernel: presetKernel(name) }))));
  $("compare-clear").addEventListener("click", () => {
    config.compare = [];
    drawTiles();
    saveURL();
  });
}

// ---------------------------------------------------------------- computing

function showError(error) {
  if (error.name !== "AbortError") showFailure(stage, $("error"), error);
}

function inputURL(id) {
  const channel = config.channels === "gray" ? "gray" : "rgb";
  return `/api/images/${encodeURIComponent(id)}/png?size=${IMAGES.display_max_side}&channel=${channel}`;
}

async function compute() {
  stage.dataset.state = "loading";
  let data;
  try {
    data = await picker.withImage((id) => apply(body(id)));
    const key = `${picker.id}|${config.channels}`;
    if (inputPicture.key !== key) {
      inputPicture = { key, img: await picker.withImage((id) => fetchImage(inputURL(id))) };
    }
  } catch (error) {
    showError(error);
    return;
  }
  result = data;
  clearFailure(stage, $("error"));
  drawFigures();
  drawFacts();
  const { height, width } = result.output;
  const px = config.px && config.px.row < height && config.px.col < width
    ? config.px : { row: Math.floor(height / 2), col: Math.floor(width / 2) };
  await explainPixel(px.row, px.col);
  drawTiles({ force: false });
  stage.dataset.state = "ready";
}

async function explainPixel(row, col) {
  config.px = { row, col };
  let detail;
  try {
    detail = await picker.withImage((id) => explain({ ...body(id), row, col }));
  } catch (error) {
    showError(error);
    return;
  }
  drawDetail(detail);
  saveURL();
}

// ---------------------------------------------------------------- drawing

const plural = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;

function drawFigures() {
  const { input, output, image } = result;
  const room = $("input-plot").parentElement.clientWidth;
  IP.draw($("input-plot"), [IP.pictureTrace(inputPicture.img, input.height, input.width)],
    IP.imageLayout(input.height, input.width, IP.figureSize(input.height, input.width, room, FIGURE_HEIGHT)));
  const picture = { src: output.png, width: output.display_width, height: output.display_height };
  IP.draw($("output-plot"), [IP.pictureTrace(picture, output.height, output.width)],
    IP.imageLayout(output.height, output.width, IP.figureSize(output.height, output.width, room, FIGURE_HEIGHT)));
  const names = input.names.join(", ");
  let inputText = `${image.width} × ${image.height}, ${names}`;
  if (input.downscaled) inputText += `; computed at ${input.width} × ${input.height}`;
  if (inputPicture.img.width < input.width) inputText += `; shown at ${inputPicture.img.width} × ${inputPicture.img.height}`;
  $("input-size").textContent = inputText;
  let outputText = `${output.width} × ${output.height}, ${names}`;
  if (output.display_width < output.width) outputText += `; shown at ${output.display_width} × ${output.display_height}`;
  $("output-size").textContent = outputText;
  $("sizes-note").textContent = input.downscaled
    ? `This photo has ${plural(image.width * image.height, "pixel")}: kernels run at full size up to `
      + `${plural(input.limit_pixels, "pixel")}, so it was first downscaled (area average) to `
      + `${input.width} × ${input.height}. Pictures are downscaled for display only.`
    : "";
  if (!bound) {
    IP.onPixel($("output-plot"), () => result.output, explainPixel);
    IP.onZoom($("input-plot"), outline);
    IP.onZoom($("output-plot"), outline);
    bound = true;
  }
}

function drawFacts() {
  const sum = fmt(result.raw_sum);
  $("kernel-sum").textContent = result.normalized
    ? `The weights add up to ${sum}; divided by that, they add up to ${fmt(result.kernel_sum)}.`
    : `The weights add up to ${sum}.`;
  $("formula").replaceChildren(...formulaLines(result.formula));
  $("device-note").textContent = `Computed with torch.nn.functional.conv2d on ${result.device}.`;
  drawHistogram();
}

function pct(n, total) {
  return `${parseFloat(((100 * n) / total).toFixed(1))}%`;
}

function drawHistogram() {
  const h = result.histogram;
  const names = result.input.names;
  const centres = h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2);
  const width = h.edges[1] - h.edges[0];
  const traces = h.counts.map((counts, c) => ({
    type: "bar", x: centres, y: counts, width, name: names[c],
    marker: { color: CHANNEL_COLORS[names[c]], opacity: names.length > 1 ? 0.45 : 0.8 },
    hovertemplate: `${names[c]}: %{y} values near %{x:.1f}<extra></extra>`,
  }));
  const [lo, hi] = [h.edges[0], h.edges[h.edges.length - 1]];
  const line = (x) => ({ type: "line", x0: x, x1: x, y0: 0, y1: 1, yref: "paper", line: { color: "#0f172a", width: 1.5, dash: "dot" } });
  const shade = (x0, x1) => ({ type: "rect", x0, x1, y0: 0, y1: 1, yref: "paper", fillcolor: "rgba(148,163,184,0.25)", line: { width: 0 } });
  const shapes = [line(0), line(255)];
  if (config.display === "clip") shapes.push(shade(lo, 0), shade(255, hi));
  const room = $("histogram").parentElement.clientWidth - 32;
  window.Plotly.react($("histogram"), traces, {
    width: Math.max(320, room), height: 260, margin: { l: 60, r: 10, t: 10, b: 46 },
    barmode: "overlay", bargap: 0, showlegend: names.length > 1, legend: { orientation: "h", y: 1.12 },
    xaxis: { title: { text: "raw output value" }, range: [lo, hi], zeroline: false },
    yaxis: { title: { text: "pixels" }, rangemode: "tozero" },
    shapes, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff", font: { size: 14 },
  }, H.PLOT_CONFIG);
  const out = result.output;
  const outside = `${pct(h.below, h.total)} of the values are below 0 and ${pct(h.above, h.total)} above 255.`;
  const how = {
    clip: "Clipped: those show as black and white.",
    abs: "Absolute value: negative values show as bright as positive ones.",
    minmax: `Rescaled: ${fmt(out.min)} shows as 0 (black) and ${fmt(out.max)} as 255 (white).`,
  }[config.display];
  $("histogram-note").textContent = `From ${fmt(out.min)} to ${fmt(out.max)}. ${outside} ${how}`;
}

function windowGrid(values, inside) {
  const z = values.map((row, r) => row.map((v, c) => (inside[r][c] ? v : null)));
  const pad = values.map((row, r) => row.map((_, c) => (inside[r][c] ? null : 0)));
  return { z, pad, text: z.map((row) => row.map((v) => (v === null ? "" : fmt(v)))) };
}

function drawDetail(d) {
  const kh = d.kernel.length;
  const kw = d.kernel[0].length;
  const overhang = d.inside.flat().some((v) => !v);
  $("detail-where").textContent = `Output row ${d.row}, column ${d.col} ← the ${kh} × ${kw} `
    + `neighbourhood at input rows ${d.top}…${d.top + kh - 1}, columns ${d.left}…${d.left + kw - 1}`
    + (overhang ? " (outside the image: padding, 0)" : "");
  const cell = H.cellSize(kh, kw, kh * kw > 25 ? 240 : 150);
  const divs = plotSlots($("detail-grids"), [...d.names.map((n) => (n === "gray" ? "gray" : n)), "× kernel"]);
  d.window.forEach((values, c) => {
    const grid = windowGrid(values, d.inside);
    const color = CHANNEL_COLORS[d.names[c]];
    const traces = [H.trace(grid.z, grid.text, cell, { colorscale: [[0, "#000000"], [1, d.names[c] === "gray" ? "#ffffff" : color]], zmin: 0, zmax: 255 })];
    if (overhang) traces.push(H.paddingTrace(grid.pad, cell));
    H.draw(divs[c], traces, H.layout(kh, kw, cell));
  });
  const kernelText = d.kernel.map((row) => row.map((v) => fmt(v)));
  H.draw(divs[d.names.length], [H.trace(d.kernel, kernelText, cell, H.colorScale([d.kernel]))], H.layout(kh, kw, cell));
  const weights = d.kernel.flat();
  $("detail-sums").replaceChildren(...d.window.map((values, c) => {
    const terms = values.flat().map((x, i) => [x, weights[i]]);
    const shown = d.shown[c];
    const clipped = d.display === "clip" && (d.values[c] < 0 || d.values[c] > 255) ? ", clipped" : "";
    return expressionLine(d.names[c], productsText(terms), fmt(d.values[c]), `→ shown as ${shown}${clipped}`);
  }));
  detail = d;
  outline();
}

// Outline the window in the input and the pixel in the output (again after a zoom).
function outline() {
  if (!detail) return;
  const d = detail;
  const [kh, kw] = [d.kernel.length, d.kernel[0].length];
  const input = $("input-plot");
  const output = $("output-plot");
  window.Plotly.relayout(input, { shapes: IP.highlight(input, d.top, d.left, d.top + kh - 1, d.left + kw - 1) });
  window.Plotly.relayout(output, { shapes: IP.highlight(output, d.row, d.col, d.row, d.col) });
}

// ---------------------------------------------------------------- comparison

function addTiles(items) {
  const known = new Set(config.compare.map(encodeKernel));
  for (const item of items) {
    if (!known.has(encodeKernel(item))) config.compare.push(item);
  }
  drawTiles();
  saveURL();
}

function tileTitle(item) {
  const size = `${item.kernel.length} × ${item.kernel[0].length}`;
  return item.preset ? `${KERNELS[item.preset].title} (${size})` : `Your kernel (${size})`;
}

// With "normalise" ticked, a tile's kernel is normalised when it can be: an edge detector's
// weights add up to 0 and it is shown as it is (its caption says so).
const sumsToZero = (kernel) => Math.abs(kernel.flat().reduce((a, b) => a + b, 0)) < 1e-12;
const tileNormalized = (item) => config.normalize && !sumsToZero(item.kernel);

function kernelTable(kernel) {
  const table = document.createElement("table");
  table.className = "mini-kernel";
  for (const row of kernel) {
    const tr = table.insertRow();
    for (const v of row) tr.insertCell().textContent = fmt(v, 3);
  }
  return table;
}

function tile(item, index) {
  const figure = document.createElement("figure");
  figure.className = "tile";
  figure.dataset.state = "loading";
  const open = document.createElement("button");
  open.type = "button";
  open.className = "tile-open";
  open.setAttribute("aria-label", `Use ${tileTitle(item)}`);
  const img = document.createElement("img");
  img.alt = `The image through ${tileTitle(item)}`;
  open.append(img);
  open.addEventListener("click", () => {
    config.preset = item.preset;
    config.kernel = clone(item.kernel);
    config.padding = samePadding(config.kernel);
    showConfig();
    compute();
    window.scrollTo({ top: 0, behavior: "smooth" });
  });
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "tile-remove";
  remove.textContent = "×";
  remove.setAttribute("aria-label", `Remove ${tileTitle(item)}`);
  remove.addEventListener("click", () => {
    config.compare.splice(index, 1);
    drawTiles();
    saveURL();
  });
  const caption = document.createElement("figcaption");
  const title = document.createElement("span");
  title.className = "tile-title";
  title.textContent = tileTitle(item);
  caption.append(title, kernelTable(item.kernel));
  if (config.normalize && !tileNormalized(item)) {
    caption.append(element("span", "hint tile-note", "weights sum to 0: not normalised"));
  }
  figure.append(open, remove, caption);
  return { figure, img };
}

let tileRound = 0;
let tilesDrawn = "";
const tilePictures = new Map(); // settings + kernel → the tile's picture (data: URL)
async function drawTiles({ force = true } = {}) {
  // tiles depend on the image, the settings and the list, not on the kernel above
  const key = JSON.stringify([picker.id, body("", null), config.compare.map(encodeKernel)]);
  if (!force && key === tilesDrawn) return;
  tilesDrawn = key;
  const round = (tileRound += 1);
  const tiles = config.compare.map(tile);
  $("compare-grid").replaceChildren(...tiles.map((t) => t.figure));
  $("compare-note").hidden = tiles.length === 0;
  if (tilePictures.size > 100) tilePictures.clear();
  await Promise.all(config.compare.map(async (item, i) => {
    const { figure, img } = tiles[i];
    const pictureKey = JSON.stringify([picker.id, body("", null), encodeKernel(item)]);
    try {
      if (!tilePictures.has(pictureKey)) {
        const data = await picker.withImage((id) => postJSON("/api/kernels", {
          ...body(id, item.kernel), normalize: tileNormalized(item), padding: samePadding(item.kernel),
          max_side: TILE_SIDE,
        }));
        tilePictures.set(pictureKey, data.output.png);
      }
      if (round !== tileRound) return;
      img.src = tilePictures.get(pictureKey);
      figure.dataset.state = "ready";
    } catch (error) {
      if (round !== tileRound) return;
      figure.dataset.state = "error";
      img.alt = error.message;
      figure.querySelector(".tile-title").textContent += `: ${error.message}`;
    }
  }));
}

// ---------------------------------------------------------------- start

bindControls();
config = fromURL();
showConfig();
picker.select(config.image);
compute();
