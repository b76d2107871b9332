// The translation-invariance demonstration on the pooling page: move an image one pixel,
// then compare, side by side, how much its convolution output and the max-pooled output
// change. Every map and count comes from POST /api/pooling/shift.
//
//   createShiftDemo(sectionElement, { demos, limits });

import { drawGrid } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";
import { createControls, createLive } from "../lib/controls.js";
import { fmt } from "../lib/format.js";
import { readParams, writeParams } from "../lib/urlstate.js";

const IMAGE_BOX = 280; // pixels for the input and the moved input
const MAX_BOX = 260;

export function createShiftDemo(root, { demos, limits }) {
  const inSection = (id) => root.querySelector(`#${id}`); // an element of this section
  const controls = createControls(inSection("shift-controls"));
  const DEMOS = Object.fromEntries(demos.map((d) => [d.name, d]));
  const run = createLive({
    url: "/api/pooling/shift",
    stage: root,
    errorBox: inSection("shift-error"),
    onResult: draw,
  });

  function settings() {
    const demo = DEMOS[controls.field("demo").value];
    const size = controls.int("pool", 1, limits.max_window);
    return {
      demo,
      body: {
        input: demo.input,
        kernel: demo.kernel,
        shift: controls.field("shift").value,
        size,
        stride: controls.int("pool_stride", 1, limits.max_stride),
      },
    };
  }

  function compute() {
    const { demo, body } = settings();
    const rows = demo.kernel.map((row) => row.map((v) => fmt(v)).join(" ")).join(" / ");
    inSection("shift-kernel").textContent = `Convolution kernel (${demo.kernel.length} × `
      + `${demo.kernel[0].length}): ${rows}; no padding, stride 1.`;
    writeParams({ demo: demo.name, shift: body.shift, pool: body.size, pool_stride: body.stride });
    return run(body);
  }

  function useDemo(name) {
    const demo = DEMOS[name] || demos[0];
    controls.field("demo").value = demo.name;
    controls.set({ pool: demo.size, pool_stride: demo.stride ?? demo.size });
  }

  // Three maps side by side in a stage's panel.
  function mapBox(section) {
    return Math.min(MAX_BOX, Math.floor((section.clientWidth - 90) / 3));
  }

  function drawMap(div, grid, scale, box) {
    const cell = H.cellSize(grid.length, grid[0].length, box);
    drawGrid(div, grid, { cell, scale });
  }

  function draw(data) {
    const inScale = H.colorScale([data.input, data.shifted]);
    drawMap(inSection("shift-input"), data.input, inScale, IMAGE_BOX);
    drawMap(inSection("shift-moved"), data.shifted, inScale, IMAGE_BOX);
    inSection("shift-direction").textContent = data.direction;
    for (const name of ["conv", "pooled"]) {
      const part = data[name];
      const section = inSection(`shift-${name}`);
      const plot = (role) => section.querySelector(`[data-role="${role}"]`);
      const scale = H.colorScale([part.before, part.after]);
      const box = mapBox(section);
      drawMap(plot("before"), part.before, scale, box);
      drawMap(plot("after"), part.after, scale, box);
      drawMap(plot("difference"), part.difference, H.colorScale([part.difference]), box);
      const percent = fmt(part.fraction * 100, 0);
      plot("verdict").textContent = `${part.changed} of ${part.total} cells changed (${percent}%)`;
      plot("relative").textContent = part.relative === null ? "" : "Size of the change: "
        + `‖after − before‖ / ‖before‖ = ${fmt(part.relative, 2)}`;
      section.dataset.changed = String(part.changed);
    }
  }

  const q = readParams();
  useDemo(q.get("demo"));
  if (q.has("shift")) controls.field("shift").value = q.get("shift");
  if (q.has("pool")) controls.set({ pool: q.get("pool") });
  if (q.has("pool_stride")) controls.set({ pool_stride: q.get("pool_stride") });
  controls.field("demo").addEventListener("change", (e) => { useDemo(e.target.value); compute(); });
  controls.onChange(["shift", "pool", "pool_stride"], compute);
  compute();
}
