// Adaptive pooling on the pooling page: the person picks an input size and the output size,
// and torch picks the windows (output row i pools rows ⌊i·H/H'⌋ … ⌈(i + 1)·H/H'⌉ − 1,
// columns alike). Each window is stepped through on the input; the windows of every row and
// column are listed with their formula. Every number comes from POST /api/pooling/adaptive.
//
//   createAdaptivePool(sectionElement, { limits });   // limits: max_size, max_output

import { expressionLine } from "../draw/expression.js";
import { blank, drawGrid, revealed, gridText, windowShapes } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { createControls, createLive } from "../lib/controls.js";
import { fmt, joinShown } from "../lib/format.js";
import { onLayoutChange } from "../lib/presenter.js";
import { randomInt, resize } from "../lib/shapes.js";
import { decodeArray, encodeArray, readParams, readStep, writeParams } from "../lib/urlstate.js";
import { createStepper } from "./stepper.js";

// The first input: 5 × 7 small integers, so that 2 × 3 windows differ in size and overlap.
const START = Array.from({ length: 5 }, (_, r) => Array.from({ length: 7 }, (_, c) => (3 * r + 5 * c + r * c) % 10));
const MAX_BOX = 420;

export function createAdaptivePool(root, { limits }) {
  const inSection = (id) => root.querySelector(`#${id}`);
  const controls = createControls(inSection("adaptive-controls"));
  let input = START;
  let trace = null;
  let divs = null;

  const stepper = createStepper(inSection("adaptive-stepper"), {
    onStep(index) {
      drawStep(index);
      writeParams({ ad_step: index + 1 });
    },
  });
  const run = createLive({
    url: "/api/pooling/adaptive",
    stage: root,
    errorBox: inSection("adaptive-error"),
    onResult: (data, at) => draw(data, at),
  });

  function compute(at = 0) {
    const [h, w] = controls.pair("ad_in", 1, limits.max_size);
    input = resize(input, h, w);
    const kind = controls.choice("ad_kind");
    const out = controls.pair("ad_out", 1, limits.max_output);
    writeParams({ ad_kind: kind, ad_out: out.join(","), ad_input: encodeArray(input), ad_step: null });
    return run({ input, kind, output_size: out }, at);
  }

  // The input and the output side by side (one under the other on a narrow screen); the
  // output's cells at least as large as the input's, so its averages stay readable.
  function cellSizes(data) {
    const [, oh, ow] = data.output_shape;
    const h = input.length;
    const w = input[0].length;
    const room = root.clientWidth - 16;
    const outCell = Math.max(8, Math.min(H.maxCell(), Math.floor(room / ow)));
    const side = room - 70 - ow * outCell; // what the input may take beside the output
    const box = Math.min(MAX_BOX, side >= 200 ? side : room);
    return [H.cellSize(h, w, box), outCell];
  }

  function draw(data, at) {
    trace = data;
    const [cell, outCell] = cellSizes(data);
    const scale = H.colorScale([data.input[0]]);
    const [, oh, ow] = data.output_shape;
    inSection("adaptive-in-shape").textContent = `${input.length} × ${input[0].length}`;
    inSection("adaptive-out-shape").textContent = `${oh} × ${ow}`;
    divs = { input: inSection("adaptive-input"), output: inSection("adaptive-output"), scale, outCell };
    drawGrid(divs.input, data.input[0], { cell, scale });
    drawGrid(divs.output, blank(oh, ow), { cell: outCell, scale, fits: data.output[0] });
    listWindows(data);
    stepper.setCount(data.steps.length, at);
  }

  function drawStep(index) {
    if (!trace) return;
    const step = trace.steps[index];
    const [, i, j] = step.position;
    const [r0, r1] = step.rows;
    const [c0, c1] = step.cols;
    const shapes = windowShapes(r0, c0, r1 - r0, c1 - c0);
    if (step.winner) shapes.push(H.mark(...step.winner, H.COLORS.winner));
    H.setShapes(divs.input, shapes);
    const z = revealed(trace.output[0], index + 1);
    H.setGrid(divs.output, z, gridText(z));
    H.setShapes(divs.output, [H.mark(i, j)]);
    const values = step.values.map((v) => fmt(v));
    const text = trace.kind === "max"
      ? `max(${joinShown(values, ", ")})`
      : `(${joinShown(values, " + ")}) / ${step.count}`;
    inSection("adaptive-expression").replaceChildren(expressionLine("", text, fmt(step.value)));
    inSection("adaptive-position").textContent = `Output row ${i}, column ${j} ← input rows `
      + `${r0}…${r1 - 1} and columns ${c0}…${c1 - 1}: a ${r1 - r0} × ${c1 - c0} window`;
    root.querySelectorAll(".adaptive-windows li").forEach((li) => {
      const on = (li.dataset.axis === "row" && Number(li.dataset.index) === i)
        || (li.dataset.axis === "col" && Number(li.dataset.index) === j);
      li.classList.toggle("current", on);
    });
  }

  // Every row's and column's window: start = ⌊i·H/H'⌋, end = ⌈(i + 1)·H/H'⌉ (exclusive).
  function listWindows(data) {
    const [, oh, ow] = data.output_shape;
    const h = input.length;
    const w = input[0].length;
    const list = (axis, windows, size, out, name) => windows.map(([s, e], i) => {
      const li = document.createElement("li");
      li.dataset.axis = axis;
      li.dataset.index = String(i);
      li.textContent = `${name} ${i}: ⌊${i}·${size}/${out}⌋ = ${s} to ⌈${i + 1}·${size}/${out}⌉ = ${e}`
        + ` → ${axis}s ${s}…${e - 1} (${e - s})`;
      return li;
    });
    inSection("adaptive-rows").replaceChildren(...list("row", data.rows, h, oh, "row"));
    inSection("adaptive-cols").replaceChildren(...list("col", data.cols, w, ow, "column"));
    const overlap = data.rows.some(([, e], i) => i + 1 < data.rows.length && data.rows[i + 1][0] < e)
      || data.cols.some(([, e], i) => i + 1 < data.cols.length && data.cols[i + 1][0] < e);
    inSection("adaptive-note").textContent = overlap
      ? "Here some windows overlap: the output size does not divide the input's, so torch "
        + "rounds each window outwards and neighbours share a row or column."
      : "Here the windows tile the input exactly.";
  }

  function randomInput() {
    const [h, w] = controls.pair("ad_in", 1, limits.max_size);
    input = Array.from({ length: h }, () => Array.from({ length: w }, () => randomInt(0, 9)));
    compute();
  }

  const q = readParams();
  const saved = q.get("ad_input") && decodeArray(q.get("ad_input"));
  if (saved && saved.length && Array.isArray(saved[0])) input = saved;
  controls.setPair("ad_in", [input.length, input[0].length]);
  const out = (q.get("ad_out") || "2,3").split(",").map(Number);
  controls.setPair("ad_out", out.length === 2 ? out : [2, 3]);
  controls.setChoice("ad_kind", q.get("ad_kind") === "max" ? "max" : "avg");
  controls.onChange(["ad_kind", "ad_in_h", "ad_in_w", "ad_out_h", "ad_out_w"], () => compute());
  inSection("adaptive-random").addEventListener("click", randomInput);
  onLayoutChange(() => trace && draw(trace, stepper.index)); // presenter mode, a resized window
  compute(readStep(q, "ad_step"));
}
