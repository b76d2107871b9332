// One filter's numbers (GET /api/models/{name}/filters/{layer}/{index}) as heatmaps with the
// values printed: a colour first layer's R, G and B slices; a deeper layer's slices, one per
// input channel, a page at a time; a depthwise or one-channel filter's single kernel; a 1×1
// filter's weights as bars, one per input channel (a mixing of channels, not a picture).
//
//   const detail = createFilterDetail({ slices, pager, prev, next, pageText }, { onPage });
//   detail.show(data, { page, focus });   // focus: an input channel to bring into view

import { drawGrid, plotSlots } from "../draw/gridview.js";
import * as H from "../draw/heatmap.js";

export const PER_PAGE = 8; // slices shown at once
const SLICE_BOX = 220; // pixels for one slice's grid (large kernels get smaller cells)
const RGB = ["R (red input)", "G (green input)", "B (blue input)"];
const BAR_HEIGHT = 300;

// How many pages the slices of `data` take.
export function pageCount(data) {
  return data.kind === "pointwise" ? 1 : Math.max(1, Math.ceil(data.weights.length / PER_PAGE));
}

function captions(data, first, count) {
  if (data.kind === "rgb") return RGB.slice(first, first + count);
  if (data.kind === "depthwise") return [`its own channel, ${data.input_channels[0]}`];
  return Array.from({ length: count }, (_, i) => `input channel ${data.input_channels[first + i]}`);
}

function drawBars(container, data) {
  const [slot] = plotSlots(container, [`weight of each of the ${data.weights.length} input channels`]);
  const values = data.weights.map((channel) => channel[0][0]);
  const limit = Math.max(...values.map(Math.abs)) || 1;
  const trace = {
    type: "bar",
    x: data.input_channels,
    y: values,
    marker: { color: values, colorscale: H.DIVERGING, cmin: -limit, cmax: limit },
    hovertemplate: "input channel %{x}: %{y:.4f}<extra></extra>",
  };
  const width = Math.max(600, Math.min(1400, container.clientWidth || 1000));
  return window.Plotly.react(slot, [trace], {
    width,
    height: BAR_HEIGHT,
    margin: { l: 60, r: 10, t: 10, b: 50 },
    xaxis: { title: { text: "input channel" }, tickfont: { size: 14 } },
    yaxis: { title: { text: "weight" }, zeroline: true, tickfont: { size: 14 } },
    bargap: values.length > 200 ? 0 : 0.15,
    paper_bgcolor: "rgba(0,0,0,0)",
  }, H.PLOT_CONFIG);
}

export function createFilterDetail({ slices, pager, prev, next, pageText }, { onPage }) {
  let data = null;
  let page = 0;
  let picked = null; // the input channel (index into the slices) clicked in the gallery

  async function draw() {
    pager.hidden = pageCount(data) <= 1;
    if (data.kind === "pointwise") return drawBars(slices, data);
    const first = page * PER_PAGE;
    const shown = data.weights.slice(first, first + PER_PAGE); // (n, kh, kw)
    const kh = shown[0].length;
    const kw = shown[0][0].length;
    const cell = H.cellSize(kh, kw, SLICE_BOX);
    const scale = H.colorScale(data.weights); // one scale for every slice of the filter
    const plots = plotSlots(slices, captions(data, first, shown.length));
    plots.forEach((div, i) => div.parentElement.classList.toggle("picked", first + i === picked));
    pageText.textContent = `input channels ${first + 1}–${first + shown.length} of ${data.weights.length}`;
    prev.disabled = page === 0;
    next.disabled = page >= pageCount(data) - 1;
    return Promise.all(plots.map((div, i) => drawGrid(div, shown[i], { cell, scale, digits: 3 })));
  }

  // `focus`: an input channel (index into the slices) whose page to show.
  function show(found, { page: wanted = 0, focus = null } = {}) {
    if (!data || data.kind !== found.kind || found.kind === "pointwise") slices.replaceChildren();
    data = found;
    picked = focus;
    const last = pageCount(data) - 1;
    page = focus !== null ? Math.floor(focus / PER_PAGE) : Math.min(Math.max(0, wanted), last);
    return draw();
  }

  function turn(delta) {
    const wanted = page + delta;
    if (!data || wanted < 0 || wanted >= pageCount(data)) return;
    page = wanted;
    draw();
    onPage(page);
  }
  prev.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));

  return { show, get page() { return page; } };
}
