// The top-k predictions of a network as horizontal bars, most probable on top, each with its
// probability written beside it (from POST /api/models/{name}/predict).
//
//   drawPredictions(div, data.predictions, { width: 420, onPick(index) { ... } });
//
// `onPick(index)` when a bar is clicked.

import { INK, chartLayout, drawChart } from "../draw/charts.js";
import { percent } from "../lib/format.js";

const BAR_HEIGHT = 34;
const LABEL_CHARS = 22; // longer class names are shortened (the hover shows them whole)

function shorten(label) {
  return label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label;
}

// `inClassOrder`: bars in class order (when every class is shown, so that bars stay in place
// as the input changes), else most probable first.
export function drawPredictions(div, found, { width = 420, onPick = null, inClassOrder = false } = {}) {
  const predictions = inClassOrder ? [...found].sort((a, b) => a.index - b.index) : found;
  const best = Math.max(...predictions.map((p) => p.probability));
  const labels = predictions.map((p) => shorten(p.label));
  const trace = {
    type: "bar",
    orientation: "h",
    x: predictions.map((p) => p.probability),
    y: labels,
    text: predictions.map((p) => percent(p.probability)),
    textposition: "outside",
    cliponaxis: false,
    textfont: { size: 16 },
    marker: { color: predictions.map((p) => (p.probability === best ? INK.line : INK.soft)) },
    customdata: predictions.map((p) => [p.index, p.label]),
    hovertemplate: "%{customdata[1]} (class %{customdata[0]}): %{x:.4f}<extra></extra>",
  };
  const longest = Math.max(...labels.map((l) => l.length));
  const layout = chartLayout(width, predictions.length * BAR_HEIGHT + 46, {
    margin: { l: Math.min(220, 18 + longest * 10), r: 64, t: 6, b: 34 },
    bargap: 0.25,
    xaxis: { range: [0, 1], tickformat: ".0%", dtick: 0.25 },
    yaxis: { type: "category", autorange: "reversed", tickfont: { size: 16 }, zeroline: false },
  });
  return drawChart(div, [trace], layout).then(() => {
    if (!onPick || div.dataset.bound) return;
    div.dataset.bound = "true";
    div.on("plotly_click", (event) => onPick(event.points[0].customdata[0]));
  });
}
