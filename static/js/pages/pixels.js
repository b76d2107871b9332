// Images as numbers: a picture as a zoomable grid of pixels whose values appear once the cells
// are big enough, its R, G and B channels and its gray levels beside it, all zoomed together.
// The numbers come from the server for the window on screen (GET /api/images/{id}/pixels);
// the pictures are PNGs the server re-encoded (GET /api/images/{id}/png).

import * as IP from "../draw/imageplot.js";
import { fetchImage, getJSON, latestOnly } from "../lib/api.js";
import { $, clearFailure, readPayload, showFailure } from "../lib/dom.js";
import { fmt } from "../lib/format.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createImagePicker } from "../widgets/image-picker.js";

const payload = readPayload();
const IMAGES = payload.images;
const MAX_WINDOW = IMAGES.max_window;
const TRIPLE_CELL = 36; // on-screen pixels per cell before R, G and B are printed in it
const SINGLE_CELL = 22; // ... before one number is
const LIGHT = 150; // cells lighter than this (in luma) get dark text
const MAIN_BOX = { width: 1400, height: 760 };
const CHANNEL_HEIGHT = 330;
const TINTS = {
  r: (p) => [p[0], 0, 0],
  g: (p) => [0, p[1], 0],
  b: (p) => [0, 0, p[2]],
};
const TINT_LUMA = { r: 0.299, g: 0.587, b: 0.114 };
const stage = $("stage");
const divs = {
  main: $("main-plot"),
  ...Object.fromEntries([...document.querySelectorAll("[data-channel]")]
    .map((figure) => [figure.dataset.channel, figure.querySelector(".plot")])),
};

let state = { image: IMAGES.default, size: "", view: null }; // view: {top, left, rows, cols}
let grid = null; // { height, width, channels } of the image at the chosen size
let pictures = {}; // channel → { src, width, height }
const bound = new Set(); // figures whose zoom and pointer are followed (Plotly's, not purged)
let pointed = null; // the pixel last pointed at: { row, col }

const picker = createImagePicker($("picker"), {
  onChange(id) {
    state = { ...state, image: id, view: null };
    load();
  },
});
const fetchWindow = latestOnly((id, win, signal) => getJSON(pixelsURL(id, win), signal));
const fetchPixel = latestOnly((id, win, signal) => getJSON(pixelsURL(id, win), signal));

// ---------------------------------------------------------------- URLs and state

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, String(value));
  }
  return search.toString();
}

const imagePath = (id) => `/api/images/${encodeURIComponent(id)}`;
const infoURL = (id) => `${imagePath(id)}?${query({ size: state.size })}`;
const pixelsURL = (id, win) => `${imagePath(id)}/pixels?${query({ size: state.size, ...win })}`;

function pngURL(id, channel) {
  const side = Math.min(Number(state.size) || Infinity, IMAGES.display_max_side);
  return `${imagePath(id)}/png?${query({ size: side, channel })}`;
}

function fromURL() {
  const q = readParams();
  const view = (q.get("view") || "").split(",").map(Number);
  return {
    image: q.get("image") || IMAGES.default,
    size: q.get("size") || "",
    view: view.length === 4 && view.every(Number.isInteger) && view[2] > 0 && view[3] > 0
      ? { top: view[0], left: view[1], rows: view[2], cols: view[3] } : null,
  };
}

function saveURL() {
  const { view } = state;
  writeParams({ // null drops a key from the URL
    image: picker.id,
    size: state.size || null,
    view: view ? [view.top, view.left, view.rows, view.cols].join(",") : null,
  });
}

// ---------------------------------------------------------------- loading

function showError(error) {
  if (error.name !== "AbortError") showFailure(stage, $("error"), error);
}

async function load() {
  stage.dataset.state = "loading";
  let info;
  try {
    info = await picker.withImage((id) => getJSON(infoURL(id)));
    const keys = info.channels === 3 ? ["rgb", "r", "g", "b", "gray"] : ["gray"];
    const images = await Promise.all(keys.map((key) => picker.withImage((id) => fetchImage(pngURL(id, key)))));
    pictures = Object.fromEntries(keys.map((key, i) => [key, images[i]]));
  } catch (error) {
    showError(error);
    return;
  }
  grid = { height: info.view.height, width: info.view.width, channels: info.channels };
  clearFailure(stage, $("error"));
  drawPictures(info);
  if (state.view) await IP.zoomTo(divs.main, state.view); // the linked zoom refreshes the numbers
  else await refreshNumbers();
  showPixel(Math.floor(grid.height / 2), Math.floor(grid.width / 2));
  stage.dataset.state = "ready";
}

// ---------------------------------------------------------------- drawing

function drawPictures(info) {
  const { height: h, width: w, channels } = grid;
  const rgb = channels === 3;
  const room = divs.main.parentElement.clientWidth;
  const mainSize = IP.figureSize(h, w, Math.min(room, MAIN_BOX.width), MAIN_BOX.height);
  IP.draw(divs.main, [IP.pictureTrace(pictures[rgb ? "rgb" : "gray"], h, w)], IP.imageLayout(h, w, mainSize));
  $("channels").hidden = !rgb; // shown before the channels are drawn: they take its width
  for (const key of ["r", "g", "b", "gray"]) {
    if (!rgb) {
      window.Plotly.purge(divs[key]); // its handlers go with it
      bound.delete(divs[key]);
      continue;
    }
    const size = IP.figureSize(h, w, divs[key].parentElement.clientWidth, CHANNEL_HEIGHT);
    IP.draw(divs[key], [IP.pictureTrace(pictures[key], h, w)], IP.imageLayout(h, w, size));
  }
  const resized = w !== info.width || h !== info.height;
  $("main-title").textContent = rgb ? "The pixels: red, green, blue" : "The pixels: gray levels";
  $("main-size").textContent = `${w} × ${h} pixels`
    + (resized ? ` (resized from ${info.width} × ${info.height})` : "");
  $("gray-box").hidden = !rgb;
  bindFigures();
}

// Follow the figures drawn since last time (a gray picture draws no channels).
function bindFigures() {
  const all = Object.values(divs);
  const fresh = all.filter((div) => div.layout && !bound.has(div));
  if (!fresh.length) return;
  IP.linkZoom(fresh, () => refreshNumbers(), { among: all });
  for (const div of fresh) {
    if (!div.dataset.pointer) IP.onPixel(div, () => grid, showPixel); // DOM events: once
    div.dataset.pointer = "bound";
    bound.add(div);
  }
}

function visibleDivs() {
  return Object.values(divs).filter((div) => div.layout && div.data);
}

function isWhole(win) {
  return win.top === 0 && win.left === 0 && win.rows === grid.height && win.cols === grid.width;
}

async function refreshNumbers() {
  if (pointed && pointed.row < grid.height && pointed.col < grid.width) outline(pointed.row, pointed.col);
  const win = IP.visibleWindow(divs.main, grid.height, grid.width);
  state.view = isWhole(win) ? null : win;
  saveURL();
  const rgb = grid.channels === 3;
  const mainCell = IP.cellPixels(divs.main);
  const channelCell = rgb ? IP.cellPixels(divs.r) : 0;
  const show = {
    main: mainCell >= (rgb ? TRIPLE_CELL : SINGLE_CELL),
    channels: channelCell >= SINGLE_CELL,
  };
  const fits = win.rows > 0 && win.cols > 0 && win.rows <= MAX_WINDOW && win.cols <= MAX_WINDOW;
  if (!fits || !(show.main || show.channels)) {
    drawNumbers(null, show, { main: mainCell, channels: channelCell });
    $("window-note").textContent = "Zoom in (or choose a smaller size) to read the numbers.";
    return;
  }
  let data;
  try {
    data = await picker.withImage((id) => fetchWindow(id, win));
  } catch (error) {
    showError(error);
    return;
  }
  drawNumbers(data, show, { main: mainCell, channels: channelCell });
  $("window-note").textContent = `Numbers shown for rows ${data.top}–${data.top + data.rows - 1}, `
    + `columns ${data.left}–${data.left + data.cols - 1}.`;
}

const tripleFont = (cell) => Math.max(8, Math.min(18, Math.floor(cell * 0.26)));
const singleFont = (cell) => Math.max(8, Math.min(22, Math.floor(cell * 0.4)));
const mapGrid = (values, fn) => values.map((row, r) => row.map((p, c) => fn(p, r, c)));

function drawNumbers(data, show, cells) {
  const rgb = grid.channels === 3;
  const mainPicture = IP.pictureTrace(pictures[rgb ? "rgb" : "gray"], grid.height, grid.width);
  if (!data) {
    for (const div of visibleDivs()) IP.redraw(div, [div.data[0]]);
    return;
  }
  const win = { top: data.top, left: data.left };
  const main = [mainPicture];
  if (rgb) {
    main.push(IP.windowTrace(win, data.values));
    if (show.main) {
      const texts = mapGrid(data.values, (p) => p.join("<br>"));
      main.push(IP.numbersTrace(win, texts, mapGrid(data.gray, (g) => g > LIGHT), tripleFont(cells.main)));
    }
  } else {
    main.push(IP.windowTrace(win, mapGrid(data.values, ([v]) => [v, v, v])));
    if (show.main) {
      main.push(IP.numbersTrace(win, mapGrid(data.values, ([v]) => String(v)),
        mapGrid(data.values, ([v]) => v > LIGHT), singleFont(cells.main)));
    }
  }
  IP.redraw(divs.main, main);
  if (!rgb) return;
  for (const key of ["r", "g", "b"]) {
    const index = "rgb".indexOf(key);
    const traces = [divs[key].data[0], IP.windowTrace(win, mapGrid(data.values, TINTS[key]))];
    if (show.channels) {
      traces.push(IP.numbersTrace(win, mapGrid(data.values, (p) => String(p[index])),
        mapGrid(data.values, (p) => p[index] * TINT_LUMA[key] > LIGHT), singleFont(cells.channels)));
    }
    IP.redraw(divs[key], traces);
  }
  const grayTraces = [divs.gray.data[0], IP.windowTrace(win, mapGrid(data.gray, (g) => [g, g, g]))];
  if (show.channels) {
    grayTraces.push(IP.numbersTrace(win, mapGrid(data.gray, (g) => String(g)),
      mapGrid(data.gray, (g) => g > LIGHT), singleFont(cells.channels)));
  }
  IP.redraw(divs.gray, grayTraces);
}

// ---------------------------------------------------------------- one pixel

function chip(label, value, kind) {
  const span = document.createElement("span");
  span.className = `chip chip-${kind}`;
  const small = document.createElement("small");
  small.textContent = label;
  span.append(small, String(value));
  return span;
}

async function showPixel(row, col) {
  let data;
  try {
    data = await picker.withImage((id) => fetchPixel(id, { top: row, left: col, rows: 1, cols: 1 }));
  } catch (error) {
    showError(error);
    return;
  }
  const pixel = data.values[0][0];
  $("pixel-where").textContent = `Row ${row}, column ${col} of the ${data.width} × ${data.height} grid`;
  const chips = [];
  if (data.channels === 3) {
    const [r, g, b] = pixel;
    chips.push(chip("R", r, "r"), chip("G", g, "g"), chip("B", b, "b"));
    const swatch = document.createElement("span");
    swatch.className = "chip chip-swatch";
    swatch.title = "the colour of this pixel";
    swatch.style.background = `rgb(${r}, ${g}, ${b})`;
    chips.push(swatch);
    const [wr, wg, wb] = IMAGES.luma.weights;
    const numbers = $("gray-numbers");
    numbers.textContent = `gray = ${wr}·${r} + ${wg}·${g} + ${wb}·${b} = ${fmt(data.luma[0][0], 3)} ≈ `;
    const result = document.createElement("strong");
    result.textContent = String(data.gray[0][0]);
    numbers.append(result);
  } else {
    chips.push(chip("gray", pixel[0], "gray"));
    $("gray-numbers").textContent = "A gray image has one number per pixel: 0 is black, 255 white.";
  }
  $("pixel-values").replaceChildren(...chips);
  outline(row, col);
}

// Outline the pixel in every figure (again after a zoom: a ring only helps when cells are tiny).
function outline(row, col) {
  pointed = { row, col };
  for (const div of visibleDivs()) {
    window.Plotly.relayout(div, { shapes: IP.highlight(div, row, col, row, col) });
  }
}

// ---------------------------------------------------------------- zoom buttons

function currentWindow() {
  return IP.visibleWindow(divs.main, grid.height, grid.width);
}

function zoomAround(rows, cols) {
  const win = currentWindow();
  const r = Math.max(1, Math.min(grid.height, Math.round(rows)));
  const c = Math.max(1, Math.min(grid.width, Math.round(cols)));
  const midR = win.top + win.rows / 2;
  const midC = win.left + win.cols / 2;
  const top = Math.max(0, Math.min(grid.height - r, Math.round(midR - r / 2)));
  const left = Math.max(0, Math.min(grid.width - c, Math.round(midC - c / 2)));
  return IP.zoomTo(divs.main, { top, left, rows: r, cols: c });
}

function bindControls() {
  $("size").addEventListener("change", (event) => {
    state = { ...state, size: event.target.value, view: null };
    load();
  });
  $("zoom-fit").addEventListener("click", () => IP.zoomTo(divs.main, { top: 0, left: 0, rows: grid.height, cols: grid.width }));
  $("zoom-in").addEventListener("click", () => { const w = currentWindow(); zoomAround(w.rows / 2, w.cols / 2); });
  $("zoom-out").addEventListener("click", () => { const w = currentWindow(); zoomAround(w.rows * 2, w.cols * 2); });
  $("zoom-numbers").addEventListener("click", () => {
    // as many cells as fit with every number readable, in the channels too
    const rgb = grid.channels === 3;
    const { width, height } = divs.main.layout;
    let cols = Math.floor(width / ((rgb ? TRIPLE_CELL : SINGLE_CELL) + 4));
    if (rgb) cols = Math.min(cols, Math.floor(divs.r.layout.width / (SINGLE_CELL + 2)));
    zoomAround(Math.max(1, Math.round((cols * height) / width)), Math.max(1, cols));
  });
}

// ---------------------------------------------------------------- start

bindControls();
state = fromURL();
$("size").value = state.size;
picker.select(state.image);
load();
