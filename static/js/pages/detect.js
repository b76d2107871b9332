// The detection page (/networks/{name}/detect): sliding windows at several sizes over a
// photo, one job on the server (POST /api/models/{name}/sliding-window/jobs, followed by
// jobs.js), then replayed here: a stepper moves the window over the photo, shows the crop
// the network is asked about and writes its score into the map of its size; a second
// stepper replays non-maximum suppression (IoU of every box with the box kept); then the
// boxes found, and the cost of the forward passes against the one fully convolutional pass
// per size, whose maps are compared with the sliding windows'. The view is in the URL.

import { getJSON, postForm } from "../lib/api.js";
import { $, element, readPayload } from "../lib/dom.js";
import { fmt, percent } from "../lib/format.js";
import { startJob } from "../lib/jobs.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { INK, drawCrop, drawScoreMap, photoView } from "../widgets/detection-draw.js";
import { createImagePicker } from "../widgets/image-picker.js";
import { createClassBox } from "../widgets/saliency-classes.js";
import { createStepper } from "../widgets/stepper.js";

const payload = readPayload();
const model = payload.model;
const side = model.input_shape[2];
const SHOWN_STEPS = 40; // suppression comparisons listed per step

const state = { image: null, target: null, ...payload.defaults };
delete state.page_sizes;
let probabilities = null;
let result = null; // the finished detection (JSON)
let photo = null; // the picture (a display copy) and its scale
let controller = null;
let keepTarget = false; // the scene loaded at the start keeps the URL's class

// ---- the URL --------------------------------------------------------------------------

function readState() {
  const params = readParams();
  if (params.get("image")) state.image = params.get("image");
  const target = Number.parseInt(params.get("target"), 10);
  if (Number.isInteger(target) && target >= 0 && target < model.num_classes) state.target = target;
  if (params.get("sizes")) state.sizes = params.get("sizes");
  for (const key of ["stride", "threshold", "iou"]) {
    const value = Number(params.get(key));
    if (params.get(key) !== null && Number.isFinite(value)) state[key] = value;
  }
}

function writeState() {
  const { image, target, sizes, stride, threshold, iou } = state;
  writeParams({ image, target, sizes, stride, threshold, iou });
}

// ---- controls -------------------------------------------------------------------------

const picker = createImagePicker($("picker"), {
  onChange(id) {
    state.image = id;
    if (!keepTarget) state.target = null; // a new picture: its own best class
    keepTarget = false;
    loadImage();
  },
});

const classBox = createClassBox($("target"), {
  list: $("classes"),
  found: $("target-found"),
  model: model.name,
  probability: (index) => (probabilities ? probabilities.get(index) ?? null : null),
  onPick(cls) {
    state.target = cls.index;
    run();
  },
});

function parseSizes(text) {
  const parts = text.split(",").map((s) => s.trim()).filter(Boolean);
  return parts.every((s) => /^\d+$/.test(s)) ? parts.map(Number) : null;
}

// How many windows the settings make on the current image (the server checks it too).
function countWindows() {
  const sizes = parseSizes(state.sizes);
  if (!sizes || !photo || !(state.stride >= 1)) return "";
  const starts = (extent, size) => (size > extent ? 0 : Math.floor((extent - size) / state.stride) + 1);
  const total = sizes.reduce((n, s) => n + starts(photo.height, s) * starts(photo.width, s), 0);
  return `${total.toLocaleString("en")} windows: ${total.toLocaleString("en")} forward passes on a ${photo.width} × ${photo.height} image.`;
}

function bindControls() {
  const fields = { sizes: $("sizes"), stride: $("stride"), threshold: $("threshold"), iou: $("iou") };
  for (const [key, input] of Object.entries(fields)) {
    input.value = String(state[key]);
    input.addEventListener("change", () => {
      state[key] = key === "sizes" ? input.value.trim() : Number(input.value);
      $("window-count").textContent = countWindows();
      run();
    });
  }
  $("scene").textContent = payload.scene === "digits"
    ? "Use three digits on a canvas" : "Use the cat and the espresso cup side by side";
  $("scene").addEventListener("click", useScene);
  $("cancel").addEventListener("click", () => cancel(true));
}

async function useScene() {
  const response = await fetch(`/api/scenes/${payload.scene}`);
  const blob = await response.blob();
  await picker.upload(new File([blob], `${payload.scene}.png`, { type: "image/png" }));
}

// ---- the image and the job ------------------------------------------------------------

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

async function loadImage() {
  showError("");
  $("stage").dataset.state = "loading";
  try {
    const [info, predicted] = await picker.withImage((id) => Promise.all([
      getJSON(`/api/images/${encodeURIComponent(id)}`),
      postForm(`/api/models/${model.name}/predict?k=${model.num_classes}`, form(id)).catch(() => null),
    ]));
    state.image = picker.id;
    const picture = new Image();
    picture.src = `/api/images/${encodeURIComponent(picker.id)}/png?size=1024`;
    await picture.decode();
    photo = { image: picture, width: info.width, height: info.height, scale: picture.naturalWidth / info.width };
    probabilities = predicted ? new Map(predicted.predictions.map((p) => [p.index, p.probability])) : null;
  } catch (error) {
    showError(error.message);
    $("stage").dataset.state = "error";
    return;
  }
  fitSizes(Math.min(photo.width, photo.height));
  $("window-count").textContent = countWindows();
  run();
}

// Window sizes that fit in a new picture: the larger ones are left out (a single digit is
// 28 pixels: windows of 28, not 36); none fitting, one window as large as the picture.
function fitSizes(shortest) {
  const sizes = parseSizes(state.sizes);
  if (!sizes || sizes.every((size) => size <= shortest)) return;
  const fitting = sizes.filter((size) => size <= shortest);
  state.sizes = (fitting.length ? fitting : [shortest]).join(",");
  $("sizes").value = state.sizes;
}

function form(id) {
  const body = new FormData();
  body.append("image_id", id);
  return body;
}

function jobURL() {
  const query = new URLSearchParams({
    sizes: state.sizes, stride: String(state.stride), threshold: String(state.threshold), iou: String(state.iou),
  });
  if (state.target !== null) query.set("target", String(state.target));
  return `/api/models/${model.name}/sliding-window/jobs?${query}`;
}

function cancel(shown) {
  if (!controller) return;
  controller.abort();
  controller = null;
  $("job").hidden = true;
  if (shown) {
    showError("Cancelled: change a setting to start again.");
    $("stage").dataset.state = "cancelled";
  }
}

async function run() {
  if (!photo) return;
  cancel(false);
  writeState();
  showError("");
  const mine = new AbortController();
  controller = mine;
  $("stage").dataset.state = "running";
  $("job").hidden = false;
  const onProgress = (fraction, status) => {
    $("bar").value = fraction;
    $("percent").textContent = status === "queued" ? "waiting…" : `${Math.round(fraction * 100)}%`;
  };
  onProgress(0, "queued");
  try {
    const url = jobURL();
    const job = await picker.withImage((id) => startJob(url, { form: form(id), onProgress, signal: mine.signal }));
    const data = await getJSON(`${job.result}?format=json`, mine.signal);
    if (controller !== mine) return;
    controller = null;
    $("job").hidden = true;
    show(data);
  } catch (error) {
    if (controller !== mine) return;
    controller = null;
    $("job").hidden = true;
    if (error.name === "AbortError") return;
    showError(error.message);
    $("stage").dataset.state = "error";
  }
}

// ---- showing the result ---------------------------------------------------------------

const windowStepper = createStepper($("window-stepper"), { onStep: drawWindow });
const nmsStepper = createStepper($("nms-stepper"), { onStep: drawSuppression });
let windows = []; // every window of every size, in the order they are stepped
let views = {};

function roomFor(element_, fallback) {
  return Math.max(200, Math.min(fallback, element_.clientWidth || fallback));
}

function show(data) {
  result = data;
  state.target = data.target.index;
  classBox.show({ index: data.target.index, label: data.target.label });
  writeState();
  windows = data.maps.flatMap((map, m) => map.tops.flatMap((top, r) => map.lefts.map((left, c) => ({
    m, r, c, box: { x: left, y: top, width: map.size, height: map.size }, score: map.scores[r][c],
  }))));
  const wide = roomFor($("slide-part"), 1100);
  const photoWidth = Math.round(wide * (wide > 700 ? 0.62 : 1));
  views = {
    slide: photoView($("photo"), photo.image, photo.width, photo.height, photoWidth),
    nms: photoView($("nms-photo"), photo.image, photo.width, photo.height, photoWidth),
    final: photoView($("final-photo"), photo.image, photo.width, photo.height, photoWidth),
  };
  const label = data.target.label;
  $("slide-sub").textContent = `${data.passes} windows · P(${label})`;
  buildMaps($("maps"), data.maps, "map", (map) => `${map.size} px windows, every ${fmt(map.stride)} px: ${map.tops.length} × ${map.lefts.length}`);
  windowStepper.setCount(windows.length, 0);
  nmsStepper.setCount(data.nms.steps.length + 1, 0);
  drawFinal();
  drawCost();
  $("stage").dataset.state = "ready";
}

function buildMaps(box, maps, kind, title) {
  box.replaceChildren(...maps.map((map, m) => {
    const figure = element("figure", "det-map");
    figure.dataset.size = String(map.size);
    const canvas = element("canvas");
    canvas.id = `${kind}-${m}`;
    figure.append(canvas, element("figcaption", "", title(map)));
    return figure;
  }));
  const room = Math.max(160, Math.min(420, (box.clientWidth || 420) / Math.min(maps.length, 2) - 16));
  maps.forEach((map, m) => drawScoreMap($(`${kind}-${m}`), map.scores, { maxWidth: room, filled: 0 }));
  return room;
}

function drawWindow(index) {
  const step = windows[index];
  if (!step) return;
  const map = result.maps[step.m];
  views.slide.draw([{ box: step.box, color: INK.window, width: 3 }]);
  const cropSide = Math.min(224, roomFor($("slide-part"), 224) - 24);
  drawCrop($("crop"), photo.image, step.box, photo.scale, side, Math.round(cropSide));
  $("window-text").textContent = `Window ${index + 1} of ${windows.length}: ${map.size} × ${map.size} pixels at x ${fmt(step.box.x)}, y ${fmt(step.box.y)}`;
  const top = map.top[step.r][step.c];
  const says = top === result.target.index ? "its top class too"
    : `the classifier's top class: ${result.labels[top]} (${fmt(map.top_scores[step.r][step.c], 3)})`;
  $("crop-text").textContent = `resized to ${side} × ${side}: P(${result.target.label}) = ${fmt(step.score, 3)}; ${says}`;
  const room = Math.max(160, Math.min(420, ($("maps").clientWidth || 420) / Math.min(result.maps.length, 2) - 16));
  result.maps.forEach((other, m) => {
    const cells = other.tops.length * other.lefts.length;
    const filled = m < step.m ? cells : m === step.m ? step.r * other.lefts.length + step.c + 1 : 0;
    drawScoreMap($(`map-${m}`), other.scores, { filled, current: m === step.m ? [step.r, step.c] : null, maxWidth: room });
  });
}

function boxText(box, index) {
  return `#${index + 1} (${box.size} px, ${fmt(box.score, 3)})`;
}

function drawSuppression(index) {
  const { candidates, nms } = result;
  const marks = [];
  const lines = [];
  if (index === 0) {
    candidates.forEach((box) => marks.push({ box, color: INK.waiting, width: 1.5 }));
    $("nms-caption").textContent = `${candidates.length} windows reach P ≥ ${fmt(result.settings.threshold)}: the candidates, best first.`;
    lines.push(...candidates.slice(0, SHOWN_STEPS).map((box, i) => `${boxText(box, i)} at x ${fmt(box.x)}, y ${fmt(box.y)}`));
  } else {
    const step = nms.steps[index - 1];
    const keptBefore = new Set(nms.steps.slice(0, index - 1).map((s) => s.kept));
    const gone = new Set(nms.steps.slice(0, index).flatMap((s) => s.compared.filter((c) => c.removed).map((c) => c.index)));
    const now = new Map(step.compared.map((c) => [c.index, c]));
    let row = 0;
    candidates.forEach((box, i) => {
      if (keptBefore.has(i)) marks.push({ box, color: INK.kept, width: 2 });
      else if (i === step.kept) return;
      else if (now.has(i) && now.get(i).removed) {
        marks.push({ box, color: INK.removed, width: 2, dash: [6, 4], label: `IoU ${fmt(now.get(i).iou, 2)}`, row });
        row += 1;
      }
      else if (!gone.has(i)) marks.push({ box, color: INK.waiting, width: 1.5 });
    });
    marks.push({ box: candidates[step.kept], color: INK.current, width: 4, label: `kept ${fmt(candidates[step.kept].score, 3)}` });
    const removed = step.compared.filter((c) => c.removed).length;
    $("nms-caption").textContent = `Step ${index}: keep ${boxText(candidates[step.kept], step.kept)}; ${removed} of the ${step.compared.length} boxes left overlap it by more than ${fmt(nms.iou)} and go.`;
    for (const c of step.compared.slice(0, SHOWN_STEPS)) {
      const verdict = c.removed ? `> ${fmt(nms.iou)}: removed` : `≤ ${fmt(nms.iou)}: stays`;
      lines.push(`${boxText(candidates[c.index], c.index)}: IoU ${fmt(c.iou, 3)} ${verdict}`);
    }
    if (!step.compared.length) lines.push("No box is left to compare: suppression ends.");
  }
  views.nms.draw(marks);
  const list = element("ul", "det-nms-list");
  list.replaceChildren(...lines.map((text) => {
    const item = element("li", "", text);
    if (text.includes("removed")) item.classList.add("removed");
    return item;
  }));
  const more = (index === 0 ? candidates.length : nms.steps[index - 1].compared.length) - SHOWN_STEPS;
  $("nms-text").replaceChildren(list, ...(more > 0 ? [element("p", "hint", `… and ${more} more.`)] : []));
}

function drawFinal() {
  const { boxes, target } = result;
  views.final.draw(boxes.map((box, i) => ({ box, color: INK.found, width: i === 0 ? 4 : 2, label: `${fmt(box.score, 2)}` })));
  const items = boxes.map((box, i) => element("li", "", `${target.label}: P ${fmt(box.score, 3)}, ${box.size} px window at x ${fmt(box.x)}, y ${fmt(box.y)}${i === 0 ? " (best)" : ""}`));
  if (!boxes.length) items.push(element("li", "hint", `No window reaches P ≥ ${fmt(result.settings.threshold)} for ${target.label}: lower the threshold.`));
  $("final-list").replaceChildren(...items);
}

function seconds(s) {
  return s >= 1 ? `${fmt(s, 2)} s` : `${fmt(s * 1000, 1)} ms`;
}

function drawCost() {
  const fc = result.fully_convolutional;
  const text = [`Sliding windows: ${result.passes} forward passes, ${seconds(result.seconds)} of network time.`];
  if (fc.available) {
    const ratio = fc.seconds > 0 ? result.seconds / fc.seconds : null;
    text.push(`Fully convolutional: ${fc.passes} pass${fc.passes === 1 ? "" : "es"} (one per window size, on the image scaled so that the window becomes ${side} pixels), ${seconds(fc.seconds)}${ratio ? `: ${fmt(ratio, 1)}× faster` : ""}.`);
  }
  $("cost").textContent = text.join(" ");
  if (!fc.available || !$("fc-maps")) return;
  const room = buildMaps($("fc-maps"), fc.maps, "fc", (map) => {
    const compare = map.matched
      ? `${map.matched} positions coincide with sliding windows; largest difference ${fmt(map.max_difference, 4)}${map.exact ? " (equal up to rounding)" : ""}`
      : "no position coincides with a sliding window at this stride";
    return `${map.size} px: the image scaled to ${map.scaled[1]} × ${map.scaled[0]}, one pass, ${seconds(map.seconds)}: ${map.tops.length} × ${map.lefts.length} positions every ${fmt(map.stride, 2)} px; ${compare}.`;
  });
  fc.maps.forEach((map, m) => drawScoreMap($(`fc-${m}`), map.scores, { maxWidth: room }));
}

// ---- start ----------------------------------------------------------------------------

function init() {
  readState();
  bindControls();
  if (state.image) {
    picker.select(state.image);
    loadImage();
  } else {
    keepTarget = true;
    useScene();
  }
}

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (!result || controller) return; // a detection under way draws itself when done
    const [w, n] = [windowStepper.index, nmsStepper.index];
    show(result);
    windowStepper.go(w, false);
    nmsStepper.go(n, false);
  }, 200);
});

init();
