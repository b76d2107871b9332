// Plotly line and bar charts in the app's style: large type for a projector, light grid,
// the axes through zero drawn darker. Grids of numbers live in heatmap.js.

import { PLOT_CONFIG } from "./heatmap.js";

export const INK = { line: "#1d4ed8", second: "#dc2626", soft: "#94a3b8", grid: "#e2e8f0" };

export function chartLayout(width, height, extra = {}) {
  const axis = {
    gridcolor: INK.grid, zeroline: true, zerolinecolor: "#475569", zerolinewidth: 2,
    tickfont: { size: 14 }, fixedrange: true,
  };
  return {
    width,
    height,
    margin: { l: 44, r: 10, t: 8, b: 34 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    showlegend: false,
    font: { size: 14 },
    hoverlabel: { font: { size: 16 } },
    ...extra,
    xaxis: { ...axis, ...(extra.xaxis || {}) },
    yaxis: { ...axis, ...(extra.yaxis || {}) },
  };
}

export function line(x, y, { color = INK.line, dash = "solid", width = 3, name = "" } = {}) {
  return {
    type: "scatter", mode: "lines", x, y, name, line: { color, dash, width },
    hovertemplate: `${name ? `${name}: ` : ""}x = %{x}, y = %{y:.4f}<extra></extra>`,
  };
}

// The page's content width (a chart never makes a phone scroll sideways).
function contentWidth(div) {
  const main = div.closest("main") || document.body;
  const style = getComputedStyle(main);
  return main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}

export function drawChart(div, traces, layout) {
  const fitted = layout.width ? { ...layout, width: Math.min(layout.width, contentWidth(div)) } : layout;
  return window.Plotly.react(div, traces, fitted, PLOT_CONFIG);
}
