// The training lab (/training): train one network from scratch, or two on the same axes,
// and watch them learn (POST /api/training/jobs, followed by lib/training-run.js): the
// curves (widgets/training-curves.js), the gradients by layer (widgets/gradient-charts.js),
// the first layer's filters and the watched digits (widgets/run-snapshots.js), and at the
// end the held-out report (widgets/run-report.js) with the trained network's links.
// The settings of both runs are in the URL (`a.network=deep&a.depth=20&b.residual=1`, only
// what differs from the defaults; `train=1`: start them when the page opens).

import { INK } from "../draw/charts.js";
import { errorText } from "../lib/api.js";
import { $, element, readPayload } from "../lib/dom.js";
import { fmt, percent } from "../lib/format.js";
import { startRun } from "../lib/training-run.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { createGradientCharts } from "../widgets/gradient-charts.js";
import { renderReport } from "../widgets/run-report.js";
import { createSnapshots } from "../widgets/run-snapshots.js";
import { createCurves } from "../widgets/training-curves.js";

const payload = readPayload();
const DEFAULTS = payload.defaults;
const LETTERS = ["a", "b"];
const COLORS = { a: INK.line, b: INK.second };
// Each setting: how its control reads (number, flag or text), and whether only the deep
// network has it.
const FIELDS = {
  network: { kind: "text" },
  depth: { kind: "int", deep: true },
  residual: { kind: "flag", deep: true },
  batchnorm: { kind: "flag" },
  optimizer: { kind: "text" },
  lr: { kind: "float" },
  schedule: { kind: "text" },
  batch_size: { kind: "int" },
  epochs: { kind: "int" },
  digits: { kind: "int" },
  seed: { kind: "int" },
  augment: { kind: "flag" },
};

let runs = []; // the runs shown: { letter, color, info, record, controller, card, snapshots }
let frame = null; // a pending redraw

// ---- the settings ---------------------------------------------------------------------

const fieldset = (letter) => $(`${letter}-settings`);
const control = (letter, name) => fieldset(letter).querySelector(`[name="${name}"]`);

function parse(kind, text) {
  if (kind === "flag") return text === true || text === "1" || text === "true";
  if (kind === "text") return String(text);
  const value = Number(text);
  return Number.isFinite(value) && String(text).trim() !== "" ? value : null;
}

function readForm(letter) {
  const deep = control(letter, "network").value === "deep";
  const settings = {};
  for (const [name, field] of Object.entries(FIELDS)) {
    if (field.deep && !deep) continue;
    const input = control(letter, name);
    const value = parse(field.kind, field.kind === "flag" ? input.checked : input.value);
    if (value !== null) settings[name] = value;
  }
  return settings;
}

function fillForm(letter, settings) {
  for (const [name, field] of Object.entries(FIELDS)) {
    const value = settings[name] ?? DEFAULTS[name];
    const input = control(letter, name);
    if (field.kind === "flag") input.checked = Boolean(value);
    else if (value !== null && value !== undefined) input.value = String(value);
  }
  showDeepOnly(letter);
}

function showDeepOnly(letter) {
  const deep = control(letter, "network").value === "deep";
  fieldset(letter).querySelector(".deep-only").hidden = !deep;
}

function comparing() {
  return $("compare").checked;
}

function setComparing(on) {
  $("compare").checked = on;
  fieldset("b").hidden = !on;
}

// ---- the URL --------------------------------------------------------------------------

function readState() {
  const params = readParams();
  for (const letter of LETTERS) {
    const settings = {};
    for (const [name, field] of Object.entries(FIELDS)) {
      const text = params.get(`${letter}.${name}`);
      if (text !== null) settings[name] = parse(field.kind, text);
    }
    fillForm(letter, settings);
  }
  setComparing(params.get("compare") === "1");
  const preset = params.get("preset");
  if (preset && payload.presets.some((p) => p.name === preset)) showPreset(preset);
  return params.get("train") === "1";
}

function writeState(training) {
  const params = {};
  for (const letter of LETTERS) {
    const settings = letter === "a" || comparing() ? readForm(letter) : {};
    for (const [name, field] of Object.entries(FIELDS)) {
      const value = settings[name];
      const differs = value !== undefined && value !== DEFAULTS[name];
      params[`${letter}.${name}`] = differs ? (field.kind === "flag" ? Number(value) : value) : null;
    }
  }
  params.compare = comparing() ? 1 : null;
  params.preset = $("preset").value || null;
  params.train = training ? 1 : null;
  writeParams(params);
}

// ---- presets --------------------------------------------------------------------------

function showPreset(name) {
  const preset = payload.presets.find((p) => p.name === name);
  $("preset").value = preset ? name : "";
  $("preset-note").textContent = preset ? preset.note : "";
}

function applyPreset(name) {
  const preset = payload.presets.find((p) => p.name === name);
  showPreset(name);
  if (!preset) return;
  fillForm("a", preset.a);
  fillForm("b", preset.b);
  setComparing(true);
}

// ---- the runs -------------------------------------------------------------------------

function describe(config) {
  const optimizer = config.optimizer === "adam" ? "Adam" : "SGD";
  const parts = [`${optimizer} ${fmt(config.lr, 6)} (${config.schedule})`, `batch ${config.batch_size}`,
    `${config.epochs} epoch${config.epochs === 1 ? "" : "s"}`, `${config.digits.toLocaleString("en")} digits`,
    `seed ${config.seed}`];
  if (config.augment) parts.push("augmented");
  return parts.join(" · ");
}

function runCard(run) {
  const card = element("article", `run-card run-${run.letter}`);
  card.dataset.run = run.letter;
  card.dataset.state = "training";
  const title = element("h2");
  title.append(element("span", `run-swatch run-${run.letter}`), `Run ${run.letter.toUpperCase()}: `,
    element("span", "run-title", run.info.title));
  const settings = element("p", "run-config hint", `${describe(run.info.config)} · `
    + `${run.info.parameters.toLocaleString("en")} parameters`);
  const bar = element("progress");
  bar.max = 1;
  bar.value = 0;
  const status = element("p", "run-status");
  status.setAttribute("aria-live", "polite");
  const links = element("p", "run-links");
  card.append(title, settings, bar, status, links);
  return { root: card, bar, status, links };
}

function statusText(run) {
  const { record, info } = run;
  const entries = record.history.filter(Boolean);
  const last = entries[entries.length - 1];
  if (!last) return record.status === "queued" ? "Waiting for a free trainer…" : "Starting…";
  const parts = [`epoch ${last.epoch} of ${info.config.epochs}`, `step ${last.step} of ${info.total_steps}`];
  if (last.loss !== null) parts.push(`loss ${fmt(last.loss, 3)}`);
  const ends = entries.filter((e) => e.heldout_accuracy !== undefined);
  if (ends.length) parts.push(`held-out ${percent(ends[ends.length - 1].heldout_accuracy)}`);
  return parts.join(" · ");
}

function finish(run) {
  const { card, record } = run;
  const result = record.result;
  card.bar.value = 1;
  if (result.diverged) {
    const d = result.diverged;
    card.root.dataset.state = "diverged";
    card.status.textContent = `Diverged at step ${d.step} (epoch ${d.epoch}): the loss became `
      + `${d.loss === "nan" ? "NaN" : "infinite"}. The learning rate is too large for this network.`;
    run.slots.report.replaceChildren(renderReport(run));
    return;
  }
  card.root.dataset.state = "done";
  card.status.replaceChildren(
    "Held-out accuracy ",
    element("strong", "run-accuracy", percent(result.heldout_accuracy)),
    ` · trained in ${fmt(result.seconds, 1)} s`,
  );
  const explore = element("a", "button-link explore", "Open in the explorer");
  explore.href = result.explore;
  const weights = element("a", "button-link", "Download weights (.safetensors)");
  weights.href = result.weights;
  weights.download = `${result.network}.safetensors`;
  card.links.replaceChildren(explore, weights);
  run.slots.report.replaceChildren(renderReport(run));
}

function showError(text) {
  $("error").hidden = !text;
  $("error").textContent = text || "";
}

function scheduleDraw() {
  if (frame === null) frame = requestAnimationFrame(draw);
}

function draw() {
  frame = null;
  const shown = runs.filter((run) => run.info);
  for (const run of shown) {
    run.card.bar.value = run.record.progress;
    if (!run.record.result) run.card.status.textContent = statusText(run);
    run.snapshots.render(run);
  }
  curves.render(shown);
  gradients.render(shown);
}

function settle() {
  const states = runs.map((run) => run.state);
  if (states.some((s) => s === "training")) return;
  $("cancel").disabled = true;
  $("stage").dataset.state = states.every((s) => s === "done") ? "ready" : "stopped";
}

async function train(run) {
  try {
    await startRun(run.settings, {
      signal: run.controller.signal,
      onStart(info, record) {
        Object.assign(run, { info, record, card: runCard({ ...run, info }) });
        run.snapshots = createSnapshots(run, payload.watched);
        run.slots.card.replaceChildren(run.card.root);
        run.slots.snapshots.replaceChildren(run.snapshots.root);
        scheduleDraw();
      },
      onUpdate: scheduleDraw,
    });
    run.state = "done";
    draw();
    finish(run);
  } catch (error) {
    run.state = error.name === "AbortError" ? "cancelled" : "failed";
    if (run.card) {
      run.card.root.dataset.state = run.state;
      run.card.status.textContent = run.state === "cancelled" ? "Cancelled." : errorText(error);
    }
    if (run.state === "failed") showError(`Run ${run.letter.toUpperCase()}: ${errorText(error)}`);
  }
  settle();
}

function startTraining() {
  cancelTraining();
  showError("");
  const letters = comparing() ? LETTERS : ["a"];
  runs = letters.map((letter) => ({
    letter,
    color: COLORS[letter],
    settings: readForm(letter),
    controller: new AbortController(),
    state: "training",
    slots: { card: element("div", "slot"), snapshots: element("div", "slot"), report: element("div", "slot") },
  }));
  // each run's place on the page, in letter order whichever answers first
  $("runs").replaceChildren(...runs.map((run) => run.slots.card));
  $("snapshots").replaceChildren(...runs.map((run) => run.slots.snapshots));
  $("reports").replaceChildren(...runs.map((run) => run.slots.report));
  gradients.reset();
  $("stage").dataset.state = "training";
  $("cancel").disabled = false;
  writeState(true);
  runs.forEach(train);
}

function cancelTraining() {
  for (const run of runs) run.controller.abort();
}

// ---- wiring ---------------------------------------------------------------------------

const curves = createCurves({ loss: $("loss-chart"), accuracy: $("accuracy-chart"), lr: $("lr-chart") });
const gradients = createGradientCharts({
  profile: $("profile-chart"),
  scrub: $("profile-scrub"),
  stepNote: $("profile-step"),
  overTime: $("over-time"),
});

function bind() {
  for (const letter of LETTERS) {
    fieldset(letter).addEventListener("change", (event) => {
      if (event.target.name === "network") showDeepOnly(letter);
      showPreset("");
      writeState(false);
    });
  }
  $("compare").addEventListener("change", () => {
    setComparing(comparing());
    writeState(false);
  });
  $("preset").addEventListener("change", () => {
    applyPreset($("preset").value);
    writeState(false);
  });
  $("measure").addEventListener("change", () => gradients.setMeasure($("measure").value));
  $("train").addEventListener("click", startTraining);
  $("cancel").addEventListener("click", () => {
    cancelTraining();
    writeState(false);
  });
  window.addEventListener("resize", scheduleDraw);
}

function init() {
  const start = readState();
  bind();
  curves.render([]);
  gradients.render([]);
  if (start) startTraining();
}

init();
