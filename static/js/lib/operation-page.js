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
//     draw(trace, config) { ... },           // a new answer
//     steppers: [{ count: (trace) => trace.steps.length, draw(index, trace) { ... } }],
//   });
//
// Optional: `sizes(config)` the size inputs beside the input's ({ out_c: 2, k_h: 3 }) and
// `resize(config, controls)` after one changed; `editors(config)` more grids than the input
// ([{ id, slices: [{ label, values }] }]); `random` the ranges of "Random integers" per array;
// `body(config)` the request (the config less its preset); `restartOnSettings` (a change of
// setting starts the steps over). A stepper is `{ id: "stepper", key: "step", count, draw }`.
// The page gets back `{ config, trace, controls, show(), edited(options) }`.
// `readKernelSize(controls, limits)`: the panel's kernel size (out_c, k_h, k_w), clamped.

import { renderGrids } from "../widgets/grid-editor.js";
import { createStepper } from "../widgets/stepper.js";
import { createControls, createEditing, createLive, showSource } from "./controls.js";
import { $ } from "./dom.js";
import { asStack, randomInt, resize, shapeOf } from "./shapes.js";
import { decodeArray, encodeArray, readParams, readStep, writeParams } from "./urlstate.js";

const DEFAULTS = {
  arrays: { input: asStack },
  settings: {},
  sizes: () => ({}),
  resize: () => {},
  editors: () => [],
  random: { input: [0, 9] },
  body: ({ preset, ...rest }) => rest,
  restartOnSettings: false,
};
const STEPPER = { id: "stepper", key: "step" };

export function startOperationPage(payload, page) {
  const op = createPage(payload, page);
  const start = fromURL(op);
  op.config = start.config;
  bindControls(op);
  showConfig(op);
  compute(op, start.steps);
  return {
    get config() { return op.config; },
    get trace() { return op.trace; },
    controls: op.controls,
    show: () => showConfig(op),
    edited: (options) => op.edited(options),
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
    config: null, // the numbers and settings shown; `preset` names the example, if any
    trace: null, // the server's last answer
  };
  op.steppers = op.page.steppers.map((s) => createStepper($(s.id), {
    onStep(index) {
      s.draw(index, op.trace);
      saveURL(op);
    },
  }));
  op.run = createLive({
    url: op.page.endpoint,
    stage: $("stage"),
    errorBox: $("error"),
    onResult(data, steps) {
      op.trace = data;
      op.page.draw(data, op.config);
      op.steppers.forEach((stepper, i) => stepper.setCount(op.page.steppers[i].count(data), steps[i]));
    },
  });
  op.edited = createEditing({
    presetSelect: $("preset"),
    boxes: op.sourceBoxes,
    forget: () => { op.config.preset = null; },
    recompute: (keepStep) => compute(op, op.steppers.map((stepper) => (keepStep ? stepper.index : 0))),
  });
  return op;
}

function compute(op, steps) {
  return op.run(op.page.body(op.config), steps);
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

function saveURL(op) {
  const { config, page } = op;
  const params = { preset: config.preset || null };
  for (const name of Object.keys(page.arrays)) params[name] = encodeArray(config[name]);
  for (const [name, kind] of Object.entries(page.settings)) params[name] = kind.toQuery(config[name]);
  page.steppers.forEach((s, i) => { params[s.key] = String(op.steppers[i].index + 1); });
  writeParams(params);
}

// ---------------------------------------------------------------- the panel and the grids

function showConfig(op) {
  const { config, controls } = op;
  const [C, Hh, W] = shapeOf(config.input);
  $("preset").value = config.preset || "";
  controls.set({ in_c: C, in_h: Hh, in_w: W, ...op.page.sizes(config) });
  for (const [name, kind] of Object.entries(op.page.settings)) kind.show(controls, name, config[name]);
  showSource(config.preset ? op.presets[config.preset] : null, op.sourceBoxes);
  renderEditors(op);
}

// The input's grids and the page's own; an edit writes into the config's arrays.
function renderEditors(op) {
  const { config } = op;
  const C = config.input.length;
  const input = config.input.map((values, c) => ({ label: op.page.inputLabel(c, C), values }));
  for (const { id, slices } of [{ id: "input-editor", slices: input }, ...op.page.editors(config)]) {
    renderGrids($(id), slices, (s, r, col, value) => {
      slices[s].values[r][col] = value;
      op.edited();
    });
  }
}

function onShapeChange(op) {
  const { config, controls, limits } = op;
  const C = controls.int("in_c", 1, limits.max_channels);
  const Hh = controls.int("in_h", 1, limits.max_size);
  const W = controls.int("in_w", 1, limits.max_size);
  config.input = Array.from({ length: C }, (_, c) => resize(config.input[c] || [], Hh, W));
  op.page.resize(config, controls);
  renderEditors(op);
  op.edited({ now: true, keepStep: false });
}

// Every setting read again; an input whose own text cannot be read changes nothing.
function onSettingsChange(op, event) {
  const { config } = op;
  const before = { ...config };
  let refused = false;
  for (const [name, kind] of Object.entries(op.page.settings)) {
    const value = kind.read(op.controls, name, { config, before, event });
    if (value !== undefined) config[name] = value;
    else if (kind.names(name).includes(event.target.name)) refused = true;
  }
  if (!refused) op.edited({ now: true, keepStep: !op.page.restartOnSettings });
}

const randomFill = (a, lo, hi) => (Array.isArray(a) ? a.map((v) => randomFill(v, lo, hi)) : randomInt(lo, hi));

function randomise(op) {
  for (const [name, [lo, hi]] of Object.entries(op.page.random)) {
    op.config[name] = randomFill(op.config[name], lo, hi);
  }
  showConfig(op);
  op.edited({ now: true, keepStep: false });
}

function usePreset(op, name) {
  if (!op.presets[name]) return;
  op.config = op.page.fromPreset(op.presets[name]);
  showConfig(op);
  compute(op, op.steppers.map(() => 0));
}

function bindControls(op) {
  const { controls, page } = op;
  $("preset").addEventListener("change", (event) => usePreset(op, event.target.value));
  $("random").addEventListener("click", () => randomise(op));
  controls.onChange(["in_c", "in_h", "in_w", ...Object.keys(page.sizes(op.config))], () => onShapeChange(op));
  const settings = Object.entries(page.settings).flatMap(([name, kind]) => kind.names(name));
  controls.onChange(settings, (event) => onSettingsChange(op, event));
}
