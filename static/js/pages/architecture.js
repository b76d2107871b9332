// A network's architecture page (/networks/{name}/architecture): its blocks with their
// residual and skip connections, where its parameters and compute are, how its receptive
// field grows, and the lecture's "how many k×k layers shrink n×n to m×m?" (asked of the
// server: /api/architecture/shrink). Every number comes from the server.

import { errorText, getJSON, latestOnly } from "../lib/api.js";
import { $, readPayload } from "../lib/dom.js";
import { readParams, writeParams } from "../lib/urlstate.js";
import { drawCost, costSentence, drawFieldGrowth, fieldSentence } from "../widgets/architecture-charts.js";
import { createBlockDiagram } from "../widgets/block-diagram.js";

const payload = readPayload();
const ARCH = payload.architecture;
const INPUT = ARCH.input_shape.slice(1);
const TOTALS = { parameters: ARCH.total_parameters, macs: ARCH.total_macs };
const FIELDS = ["size", "kernel", "stride", "padding", "target"];
const NOTES_SAY = 44; // the lecture notes' answer to 224×224 → 4×4 with 5×5 layers

createBlockDiagram($("block-diagram"), payload.blocks);
$("cost-sentence").textContent = costSentence(payload.by_kind, TOTALS);
$("field-sentence").textContent = fieldSentence(payload.field_growth, INPUT);

function drawCharts() {
  drawCost($("cost-plot"), payload.blocks.blocks, TOTALS);
  drawFieldGrowth($("field-plot"), payload.field_growth, INPUT);
}

// ---------------------------------------------------------------- the shrinking question

const ask = latestOnly((url, signal) => getJSON(url, signal));

function question() {
  const form = $("shrink-form");
  const found = {};
  for (const name of FIELDS) {
    const text = form.elements[name].value.trim();
    if (!/^\d+$/.test(text)) return { error: `${name} must be a whole number` };
    found[name] = Number(text);
  }
  return found;
}

function sizesText(sizes) {
  const shown = sizes.length <= 14 ? sizes : [...sizes.slice(0, 8), "…", ...sizes.slice(-4)];
  return shown.join(" → ");
}

function showAnswer(data) {
  const q = data.question;
  const n = data.layers;
  const perLayer = q.stride === 1 ? q.kernel - 1 - 2 * q.padding : null;
  const layersWord = n === 1 ? "layer" : "layers";
  let text = `${n} ${layersWord} of ${q.kernel}×${q.kernel} (stride ${q.stride}, padding ${q.padding}) take ${q.size}×${q.size} to ${data.reached}×${data.reached}`;
  text += data.exact ? "." : `, the first size at or below ${q.target}×${q.target} (${q.target}×${q.target} itself is never reached).`;
  if (perLayer !== null) {
    text += ` Each layer takes ${perLayer} pixels off (k − 1 − 2p): ${q.size} − ${n} × ${perLayer} = ${q.size - n * perLayer}.`;
  }
  text += ` A unit of the last layer sees ${data.receptive_field[n]}×${data.receptive_field[n]} input pixels.`;
  const lecture = q.size === 224 && q.kernel === 5 && q.stride === 1 && q.padding === 0 && q.target === 4;
  if (lecture && data.sizes.length > NOTES_SAY) {
    const after = data.sizes[NOTES_SAY];
    text += ` The notes say ${NOTES_SAY}: after ${NOTES_SAY} layers the maps are still ${after}×${after} (${NOTES_SAY} is 220 ÷ 5, as if a 5×5 layer took 5 pixels off; it takes 4).`;
  }
  $("shrink-answer").textContent = text;
  $("shrink-sizes").textContent = `Sides, layer by layer (${data.formula}): ${sizesText(data.sizes)}`;
  $("shrink-answer").dataset.layers = String(n);
}

async function refreshShrink() {
  const q = question();
  const box = $("shrink-error");
  if (q.error) {
    box.hidden = false;
    box.textContent = `Not asked: ${q.error}.`;
    return;
  }
  writeParams(Object.fromEntries(FIELDS.map((name) => [name, String(q[name])])));
  try {
    const data = await ask(`/api/architecture/shrink?${new URLSearchParams(q)}`);
    box.hidden = true;
    showAnswer(data);
  } catch (error) {
    if (error.name === "AbortError") return;
    box.hidden = false;
    box.textContent = errorText(error);
  }
}

// ---------------------------------------------------------------- start

const params = readParams();
const form = $("shrink-form");
let asked = false;
for (const name of FIELDS) {
  if (params.has(name)) {
    form.elements[name].value = params.get(name);
    asked = true;
  }
}
form.addEventListener("input", () => refreshShrink());
form.addEventListener("submit", (event) => event.preventDefault());
if (asked) refreshShrink();
else showAnswer(payload.shrink);
drawCharts();
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(drawCharts, 150);
});
document.body.dataset.ready = "true";
