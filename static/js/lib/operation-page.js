// The skeleton of every operation page (convolution, pooling, 1×1 convolution, transposed
// convolution): the presets and limits of the page's payload, the view in the URL, the
// settings panel, the editable grids, "Random integers", the steppers and one live request
// per change. A page says what is its own (its arrays and settings, how a preset becomes a
// config, the request) and what it draws; this module does the rest.
//
//   const page = startOperationPage(payload, {
//     endpoint: "/api/pooling",
//     fromPreset(preset) { return { input, kind, size, ..., preset: preset.name }; },
//     arrays: { input: asStack },            // the config's arrays in the URL, each checked
//     settings: { kind: choice(kinds), size: pair(1, 16) },    // lib/settings.js, URL order
//     inputLabel: (c, channels) => `Input, channel ${c}`,
//     draw(trace, config, room) { ... },     // a new answer, or the same in a new layout
//     steppers: [{ count: (trace) => trace.steps.length, draw(index, trace) { ... } }],
//   });
//
// `room(figures)` is the { width, height } the figures starting at element `figures` may
// take so that the step's text and the stepper stay on screen with them (lib/presenter.js:
// the screen in presenter mode; the screen once the stage is scrolled to its top, else):
// the page sizes its grids to it (draw/fit.js). Once a step is drawn, what is under the
// figures is measured, and the page drawn again if it did not fit (`fits`: the figures
// and the element that must stay visible under them, by default the stage's first
// .figures and the stepper). Presenter mode and a resized window draw the page again.
//
// A field whose text is not a valid value (a bias "abc", a cell "x") is marked, the stage
// says why, and nothing is computed until it is fixed (lib/validity.js). An example, a
// setting, a size or "Random integers" adds a history entry (Back shows the view before);
// a step or a typed number replaces it.
//
// Optional: `sizes(config)` the size inputs beside the input's ({ out_c: 2, k_h: 3 }) and
// `resize(config, controls)` after one changed; `editors(config)` more grids than the input
// ([{ id, slices: [{ label, values }] }]); `random` the ranges of "Random integers" per array;
// `body(config)` the request (the config less its preset); `restartOnSettings` (a change of
// setting starts the steps over). A stepper is `{ id: "stepper", key: "step", count, draw }`.
// A stepper's `draw(index, trace, byUser)` learns whether the step was asked for (see
// widgets/stepper.js). The page gets back `{ config, trace, controls, show(),
// edited(options), redraw(), steppers }`.
// `readKernelSize(controls, limits)`: the panel's kernel size (out_c, k_h, k_w), clamped.

import { renderGrids } from "../widgets/grid-editor.js";
import { createStepper } from "../widgets/stepper.js";
import { createControls, createEditing, createLive, showSource } from "./controls.js";
import { $ } from "./dom.js";
import { createRoom, onLayoutChange } from "./presenter.js";
import { asStack, randomInt, resize, shapeOf } from "./shapes.js";
import {
  decodeArray, encodeArray, onHistoryChange, readParams, readStep, writeParams,
} from "./urlstate.js";
import { createValidity } from "./validity.js";

const DEFAULTS = {
  arrays: { input: asStack },
  settings: {},
  sizes: () => ({}),
  resize: () => {},
  editors: () => [],
  random: { input: [0, 9] },
  body: ({ preset, ...rest }) => rest,
  restartOnSettings: false,
  fits: () => [[$("stage").querySelector(".figures"), $("stepper")]],
};
const STEPPER = { id: "stepper", key: "step" };

export function startOperationPage(payload, page) {
  const op = createPage(payload, page);
  const start = fromURL(op);
  op.config = start.config;
  bindControls(op);
  showConfig(op);
  compute(op, start.steps);
  onLayoutChange(() => relayout(op));
  onHistoryChange(() => restore(op));
  return {
    get config() { return op.config; },
    get trace() { return op.trace; },
    controls: op.controls,
    show: () => showConfig(op),
    edited: (options) => op.edited(options),
    redraw: () => relayout(op),
    steppers: op.steppers,
  };
}

export function readKernelSize(controls, limits) {
  return [
    controls.int("out_c", 1, limits.max_out_channels),
    controls.int("k_h", 1, limits.max_kernel),
    controls.int("k_w", 1, limits.max_kernel),
  ];
}

function createPage(payload, page) {
  const op = {
    page: { ...DEFAULTS, ...page, steppers: page.steppers.map((s) => ({ ...STEPPER, ...s })) },
    presets: Object.fromEntries(payload.presets.map((p) => [p.name, p])),
    defaultPreset: payload.default_preset,
    limits: payload.limits,
    controls: createControls($("controls")),
    sourceBoxes: { note: $("note"), noteText: $("note-text"), source: $("source") },
    room: createRoom($("stage")),
    config: null, // the numbers and settings shown; `preset` names the example, if any
    trace: null, // the server's last answer
  };
  op.validity = createValidity({ stage: $("stage"), box: $("error"), onValid: () => op.edited({ now: true }) });
  op.steppers = op.page.steppers.map((s) => createStepper($(s.id), {
    onStep(index, byUser) {
      s.draw(index, op.trace, byUser);
      saveURL(op);
    },
  }));
  op.run = createLive({
    url: op.page.endpoint,
    stage: $("stage"),
    errorBox: $("error"),
    onResult(data, steps) {
      op.trace = data;
      op.room.reset();
      render(op, steps);
    },
  });
  op.edited = createEditing({
    presetSelect: $("preset"),
    boxes: op.sourceBoxes,
    forget: () => { op.config.preset = null; },
    recompute: (keepStep) => compute(op, op.steppers.map((stepper) => (keepStep ? stepper.index : 0))),
    blocked: () => op.validity.blocked,
  });
  return op;
}

function compute(op, steps) {
  if (op.validity.blocked) return null;
  return op.run(op.page.body(op.config), steps);
}

// ---------------------------------------------------------------- drawing in the room there is

const roomFor = (op) => (figures) => op.room.box(figures);

// The trace drawn, its steps at `steps`; drawn again (once) if what must stay visible under
// the figures did not fit.
function render(op, steps) {
  op.page.draw(op.trace, op.config, roomFor(op));
  op.steppers.forEach((stepper, i) => stepper.setCount(op.page.steppers[i].count(op.trace), steps[i]));
  requestAnimationFrame(() => {
    if (!op.trace || !op.room.refit(op.page.fits())) return;
    const at = op.steppers.map((stepper) => stepper.index);
    op.page.draw(op.trace, op.config, roomFor(op));
    op.steppers.forEach((stepper, i) => stepper.setCount(op.page.steppers[i].count(op.trace), at[i]));
  });
}

function relayout(op) {
  if (!op.trace) return;
  op.room.reset();
  render(op, op.steppers.map((stepper) => stepper.index));
}

// ---------------------------------------------------------------- the URL

// The preset named in the URL (or the page's default), then the URL's own arrays (all or
// none: with them, and no preset named, the numbers are the user's own), then its settings.
function fromURL(op) {
  const q = readParams();
  const config = op.page.fromPreset(op.presets[q.get("preset")] || op.presets[op.defaultPreset]);
  const arrays = readArrays(q, op.page.arrays);
  if (arrays) {
    Object.assign(config, arrays);
    if (!q.has("preset")) config.preset = null;
  }
  for (const [name, kind] of Object.entries(op.page.settings)) {
    config[name] = kind.fromQuery(q, name, config[name], config);
  }
  return { config, steps: op.page.steppers.map((s) => readStep(q, s.key)) };
}

function readArrays(q, readers) {
  const arrays = {};
  for (const [name, read] of Object.entries(readers)) {
    const decoded = q.has(name) ? decodeArray(q.get(name)) : null;
    arrays[name] = decoded && read(decoded);
    if (!arrays[name]) return null;
  }
  return arrays;
}

// The view in the URL: `push` adds a history entry (a new example or setting), else the
// current entry is replaced (a step, a typed number); `restart`: its steps start over.
function saveURL(op, { push = false, restart = push } = {}) {
  const { config, page } = op;
  const params = { preset: config.preset || null };
  for (const name of Object.keys(page.arrays)) params[name] = encodeArray(config[name]);
  for (const [name, kind] of Object.entries(page.settings)) params[name] = kind.toQuery(config[name]);
  page.steppers.forEach((s, i) => { params[s.key] = String(restart ? 1 : op.steppers[i].index + 1); });
  writeParams(params, { push });
}

// Back or Forward: the view of the URL, as if the page had been opened on it.
function restore(op) {
  const start = fromURL(op);
  op.config = start.config;
  op.validity.forget("");
  showConfig(op);
  compute(op, start.steps);
}

// ---------------------------------------------------------------- the panel and the grids

function showConfig(op) {
  const { config, controls } = op;
  const [C, Hh, W] = shapeOf(config.input);
  $("preset").value = config.preset || "";
  controls.set({ in_c: C, in_h: Hh, in_w: W, ...op.page.sizes(config) });
  showSettings(op);
  showSource(config.preset ? op.presets[config.preset] : null, op.sourceBoxes);
  renderEditors(op);
}

function showSettings(op) {
  for (const [name, kind] of Object.entries(op.page.settings)) {
    kind.show(op.controls, name, op.config[name]);
    op.validity.set(`setting:${name}`, op.controls.field(kind.names(name)[0]), null);
  }
}

// The input's grids and the page's own; an edit writes into the config's arrays.
function renderEditors(op) {
  const { config } = op;
  const C = config.input.length;
  const input = config.input.map((values, c) => ({ label: op.page.inputLabel(c, C), values }));
  const onProblem = (key, cell, message) => op.validity.set(key, cell, message);
  for (const { id, slices } of [{ id: "input-editor", slices: input }, ...op.page.editors(config)]) {
    op.validity.forget(`${id}:`);
    renderGrids($(id), slices, (s, r, col, value) => {
      slices[s].values[r][col] = value;
      op.edited();
    }, { onProblem });
  }
}

function onShapeChange(op) {
  const { config, controls, limits } = op;
  const C = controls.int("in_c", 1, limits.max_channels);
  const Hh = controls.int("in_h", 1, limits.max_size);
  const W = controls.int("in_w", 1, limits.max_size);
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  op.page.resize(config, controls);
  showSettings(op); // a bias list follows the number of outputs
  renderEditors(op);
  changed(op, { keepStep: false });
}

// Every setting read again; a field whose text is not a valid value stops the computation
// (and says why) until it is fixed.
function onSettingsChange(op, event) {
  const { config } = op;
  const before = { ...config };
  for (const [name, kind] of Object.entries(op.page.settings)) {
    const value = kind.read(op.controls, name, { config, before, event });
    const problem = value && value.problem;
    op.validity.set(`setting:${name}`, op.controls.field(kind.names(name)[0]), problem || null);
    if (!problem) config[name] = value;
  }
  changed(op, { keepStep: !op.page.restartOnSettings });
}

// A setting, a size or the numbers changed at once: recomputed now, a new history entry.
function changed(op, { keepStep }) {
  op.edited({ now: true, keepStep });
  if (!op.validity.blocked) saveURL(op, { push: true, restart: !keepStep });
}

const randomFill = (a, lo, hi) => (Array.isArray(a) ? a.map((v) => randomFill(v, lo, hi)) : randomInt(lo, hi));

function randomise(op) {
  for (const [name, [lo, hi]] of Object.entries(op.page.random)) {
    op.config[name] = randomFill(op.config[name], lo, hi);
  }
  showConfig(op);
  changed(op, { keepStep: false });
}

function usePreset(op, name) {
  if (!op.presets[name]) return;
  op.config = op.page.fromPreset(op.presets[name]);
  op.validity.forget("");
  showConfig(op);
  saveURL(op, { push: true });
  compute(op, op.steppers.map(() => 0));
}

function bindControls(op) {
  const { controls, page } = op;
  $("preset").addEventListener("change", (event) => {
    usePreset(op, event.target.value);
    event.target.blur(); // the arrow keys step again, instead of choosing another example
  });
  $("random").addEventListener("click", () => randomise(op));
  controls.onChange(["in_c", "in_h", "in_w", ...Object.keys(page.sizes(op.config))], () => onShapeChange(op));
  const settings = Object.entries(page.settings).flatMap(([name, kind]) => kind.names(name));
  controls.onChange(settings, (event) => onSettingsChange(op, event));
}
