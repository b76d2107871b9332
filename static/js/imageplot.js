// Plotly figures of pictures. Axes count the pixels of the image being computed on, even when
// the picture drawn is a downscaled copy (`pictureTrace` stretches it); zoomed in, a window of
// exact pixels (`windowTrace`) and their numbers (`numbersTrace`) are drawn over it. Figures
// of the same image can be linked so that zooming one zooms all.

import { PLOT_CONFIG } from "./heatmap.js";

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
  return { type: "image", source: img.src, x0: (dx - 1) / 2, y0: (dy - 1) / 2, dx, dy, hoverinfo: "none" };
}

// Exact pixels of a window drawn over the picture; z is rows×cols×3 (0–255).
export function windowTrace(win, z) {
  return {
    type: "image", z, x0: win.left, y0: win.top, dx: 1, dy: 1, colormodel: "rgb",
    zmin: [0, 0, 0], zmax: [255, 255, 255], hoverinfo: "none",
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
    type: "scatter", mode: "text", x, y, text, hoverinfo: "none", cliponaxis: true,
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

// Zoom to a window of cells ({top, left, rows, cols}), or to the whole h×w image.
export function zoomTo(div, win) {
  return window.Plotly.relayout(div, {
    "xaxis.range": [win.left - 0.5, win.left + win.cols - 0.5],
    "yaxis.range": [win.top + win.rows - 0.5, win.top - 0.5],
  });
}

const RANGE_KEYS = ["xaxis.range", "xaxis.range[0]", "xaxis.autorange", "yaxis.range", "yaxis.range[0]", "yaxis.autorange"];

// Keep the zoom of several figures of the same grid in step; `onView()` after every change.
// Call once per figure (handlers survive later Plotly.react calls).
export function linkZoom(divs, onView) {
  let busy = false;
  divs.forEach((div) => {
    div.on("plotly_relayout", async (update) => {
      if (busy || !RANGE_KEYS.some((key) => key in (update || {}))) return;
      busy = true;
      try {
        const { x, y } = ranges(div);
        await Promise.all(divs.filter((d) => d !== div && d.layout)
          .map((d) => window.Plotly.relayout(d, { "xaxis.range": x, "yaxis.range": y })));
      } finally {
        busy = false;
      }
      onView(div);
    });
  });
}

// Redraw a figure's traces, keeping its current zoom.
export function redraw(div, traces) {
  const layout = { ...div.layout, xaxis: { ...div.layout.xaxis }, yaxis: { ...div.layout.yaxis } };
  return window.Plotly.react(div, traces, layout, IMAGE_CONFIG);
}

// Calls `handler(row, col)` when the pointer is over (or a finger taps) a cell; `bounds()`
// gives the grid's current {height, width}. Call once per figure.
export function onPixel(div, bounds, handler) {
  const report = (event) => {
    const point = event.points && event.points[0];
    const x = event.xvals ? event.xvals[0] : point && point.x;
    const y = event.yvals ? event.yvals[0] : point && point.y;
    if (x === undefined || y === undefined) return;
    const col = Math.round(x);
    const row = Math.round(y);
    const { height, width } = bounds();
    if (row >= 0 && row < height && col >= 0 && col < width) handler(row, col);
  };
  div.on("plotly_hover", report);
  div.on("plotly_click", report);
}
