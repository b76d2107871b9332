// Plotly figures of pictures. Axes count the pixels of the image being computed on, even when
// the picture drawn is a downscaled copy (`pictureTrace` stretches it); zoomed in, a window of
// exact pixels (`windowTrace`) and their numbers (`numbersTrace`) are drawn over it. Figures
// of the same image can be linked so that zooming one zooms all.

import { PLOT_CONFIG, rect } from "./heatmap.js";

export const IMAGE_CONFIG = { ...PLOT_CONFIG, scrollZoom: true, doubleClick: "reset" };

// Figure size for an h×w image inside a maxWidth × maxHeight box (aspect kept).
export function figureSize(h, w, maxWidth, maxHeight) {
  const scale = Math.min(maxWidth / w, maxHeight / h);
  return { width: Math.max(60, Math.round(w * scale)), height: Math.max(60, Math.round(h * scale)) };
}

export function imageLayout(h, w, size, extra = {}) {
  return {
    width: size.width,
    height: size.height,
    margin: { l: 0, r: 0, t: 0, b: 0 },
    xaxis: { visible: false, range: [-0.5, w - 0.5], constrain: "domain" },
    yaxis: { visible: false, range: [h - 0.5, -0.5], scaleanchor: "x", constrain: "domain" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#f1f5f9",
    showlegend: false,
    shapes: [],
    dragmode: "zoom",
    hovermode: "closest",
    ...extra,
  };
}

// `img` ({src, width, height}, a data: URL) stretched over an h×w grid of pixels.
export function pictureTrace(img, h, w) {
  const dx = w / img.width;
  const dy = h / img.height;
  return { type: "image", source: img.src, x0: (dx - 1) / 2, y0: (dy - 1) / 2, dx, dy, hoverinfo: "skip" };
}

// Exact pixels of a window drawn over the picture; z is rows×cols×3 (0–255).
export function windowTrace(win, z) {
  return {
    type: "image", z, x0: win.left, y0: win.top, dx: 1, dy: 1, colormodel: "rgb",
    zmin: [0, 0, 0], zmax: [255, 255, 255], hoverinfo: "skip",
  };
}

// Text in the cells of a window; `texts` and `dark` (true where the cell is light, so the
// text should be dark) are rows×cols.
export function numbersTrace(win, texts, dark, fontSize) {
  const x = [];
  const y = [];
  const text = [];
  const color = [];
  texts.forEach((row, r) => row.forEach((t, c) => {
    x.push(win.left + c);
    y.push(win.top + r);
    text.push(t);
    color.push(dark[r][c] ? "#0f172a" : "#ffffff");
  }));
  return {
    type: "scatter", mode: "text", x, y, text, hoverinfo: "skip", cliponaxis: true,
    textfont: { size: fontSize, color, family: "DejaVu Sans Mono, Menlo, Consolas, monospace" },
  };
}

export function draw(div, traces, layout) {
  return window.Plotly.react(div, traces, layout, IMAGE_CONFIG);
}

function ranges(div) {
  const { xaxis, yaxis } = div.layout;
  return { x: [...xaxis.range], y: [...yaxis.range] };
}

// The cells at least partly visible, clipped to the h×w grid.
export function visibleWindow(div, h, w) {
  const { x, y } = ranges(div);
  const left = Math.max(0, Math.floor(Math.min(...x) + 0.5));
  const right = Math.min(w - 1, Math.ceil(Math.max(...x) - 0.5));
  const top = Math.max(0, Math.floor(Math.min(...y) + 0.5));
  const bottom = Math.min(h - 1, Math.ceil(Math.max(...y) - 0.5));
  return { top, left, rows: Math.max(0, bottom - top + 1), cols: Math.max(0, right - left + 1) };
}

// On-screen pixels per cell at the current zoom.
export function cellPixels(div) {
  const { x } = ranges(div);
  const full = div._fullLayout;
  const length = (full && full.xaxis && full.xaxis._length) || div.layout.width;
  return length / Math.abs(x[1] - x[0]);
}

const RING_BELOW = 8; // on-screen pixels per cell under which a highlight gets a ring
const RING_RADIUS = 16; // ... of this many screen pixels, so it can be found on a big picture

// Shapes outlining cells r0..r1 × c0..c1 of a figure, ringed when the cells are tiny.
export function highlight(div, r0, c0, r1, c1, color = "#f59e0b") {
  const shapes = [rect(r0, c0, r1, c1, { color, width: 3 })];
  const cell = cellPixels(div);
  if (cell < RING_BELOW) {
    const radius = Math.max((Math.max(r1 - r0, c1 - c0) + 1) / 2, RING_RADIUS / cell);
    const cy = (r0 + r1) / 2;
    const cx = (c0 + c1) / 2;
    shapes.push({
      type: "circle", xref: "x", yref: "y", x0: cx - radius, x1: cx + radius, y0: cy - radius,
      y1: cy + radius, line: { color, width: 3 }, fillcolor: "rgba(0,0,0,0)",
    });
  }
  return shapes;
}

// Zoom to a window of cells ({top, left, rows, cols}), or to the whole h×w image.
export function zoomTo(div, win) {
  return window.Plotly.relayout(div, {
    "xaxis.range": [win.left - 0.5, win.left + win.cols - 0.5],
    "yaxis.range": [win.top + win.rows - 0.5, win.top - 0.5],
  });
}

const RANGE_KEYS = ["xaxis.range", "xaxis.range[0]", "xaxis.autorange", "yaxis.range", "yaxis.range[0]", "yaxis.autorange"];

// Keep the zoom of several figures of the same grid in step; `onView()` after every change.
// Call once per figure (handlers survive later Plotly.react calls, not Plotly.purge); a
// zoom of one of `divs` is copied to the others and to those of `among` drawn now.
export function linkZoom(divs, onView, { among = divs } = {}) {
  let busy = false;
  divs.forEach((div) => {
    div.on("plotly_relayout", async (update) => {
      if (busy || !RANGE_KEYS.some((key) => key in (update || {}))) return;
      busy = true;
      try {
        const { x, y } = ranges(div);
        await Promise.all(among.filter((d) => d !== div && d.layout)
          .map((d) => window.Plotly.relayout(d, { "xaxis.range": x, "yaxis.range": y })));
      } finally {
        busy = false;
      }
      onView(div);
    });
  });
}

// Calls `handler()` after the user (or `zoomTo`) zooms or pans the figure.
export function onZoom(div, handler) {
  div.on("plotly_relayout", (update) => {
    if (RANGE_KEYS.some((key) => key in (update || {}))) handler();
  });
}

// Redraw a figure's traces, keeping its current zoom.
export function redraw(div, traces) {
  const layout = { ...div.layout, xaxis: { ...div.layout.xaxis }, yaxis: { ...div.layout.yaxis } };
  return window.Plotly.react(div, traces, layout, IMAGE_CONFIG);
}

// Calls `handler(row, col)` when the pointer moves onto another cell (or a finger taps one);
// `bounds()` gives the grid's current {height, width}. Call once per figure. The cell is
// found from the pointer and the axis ranges (Plotly's own hover cannot read pictures drawn
// pixelated, so the picture traces skip it). With `{ hover: false }` only a click or a tap
// picks a cell.
export function onPixel(div, bounds, handler, { hover = true } = {}) {
  let last = "";
  const locate = (event) => {
    const area = div.querySelector(".nsewdrag");
    if (!area || !div.layout) return;
    const box = area.getBoundingClientRect();
    const fx = (event.clientX - box.left) / box.width;
    const fy = (event.clientY - box.top) / box.height;
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return;
    const { x, y } = ranges(div);
    const col = Math.round(x[0] + fx * (x[1] - x[0]));
    const row = Math.round(y[1] + fy * (y[0] - y[1])); // y[0] is at the bottom
    const { height, width } = bounds();
    const key = `${row},${col}`;
    if (row < 0 || row >= height || col < 0 || col >= width || key === last) return;
    last = key;
    handler(row, col);
  };
  if (hover) div.addEventListener("pointermove", locate);
  div.addEventListener("pointerdown", (event) => {
    if (!hover) last = ""; // a click on the same cell picks it again
    locate(event);
  });
}
