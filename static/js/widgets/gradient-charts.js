// The gradients reaching each layer (pages/training.js), on a log scale, for the measure
// chosen (`grad_norms`: ‖∂L/∂W‖ of each layer's weights, or `update_ratios`: ‖ΔW‖ / ‖W‖):
//
// - the profile: one line per run across the layers, first to last, at one step (the
//   latest, or the one the scrub picks): a plain deep network's line falls by orders of
//   magnitude towards its first layers; a residual one's stays level;
// - over time: one chart per run, a line per layer coloured by its depth (dark: the first
//   layers, light: the last).
//
// A value of exactly 0 (a layer whose ReLUs all died) has no place on a log scale: a gap.

import { chartLayout, drawChart } from "../draw/charts.js";
import { element } from "../lib/dom.js";
import { epochsAt } from "./training-curves.js";

const PROFILE_HEIGHT = 300;
const TIME_HEIGHT = 260;
// Depth colours, first layer to last (dark blue to yellow, as viridis).
const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
const LABELS = { grad_norms: "‖∂L/∂W‖", update_ratios: "‖ΔW‖ / ‖W‖" };

function hex(color) {
  return [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16));
}

// The colour of layer `i` of `count` along RAMP.
export function depthColor(i, count) {
  const t = count > 1 ? i / (count - 1) : 0;
  const scaled = t * (RAMP.length - 1);
  const low = Math.min(Math.floor(scaled), RAMP.length - 2);
  const [a, b] = [hex(RAMP[low]), hex(RAMP[low + 1])];
  const mix = a.map((v, k) => Math.round(v + (b[k] - v) * (scaled - low)));
  return `rgb(${mix.join(",")})`;
}

const positive = (v) => (v !== null && v !== undefined && v > 0 ? v : null);

// The latest entry of `run` at or before `step` that has the measure.
function entryAt(run, measure, step) {
  const entries = run.record.history;
  for (let i = entries.length - 1; i >= 0; i -= 1) {
    const entry = entries[i];
    if (entry && entry[measure] && entry.step <= step) return entry;
  }
  return null;
}

export function lastStep(runs) {
  return Math.max(0, ...runs.map((run) => {
    const entries = run.record.history;
    return entries.length && entries[entries.length - 1] ? entries[entries.length - 1].step : 0;
  }));
}

function profileTrace(run, measure, step) {
  const entry = entryAt(run, measure, step);
  const layers = run.info.layers;
  const values = entry ? entry[measure].map(positive) : [];
  return {
    type: "scatter",
    mode: "lines+markers",
    x: layers.map((_, i) => i + 1),
    y: values,
    customdata: layers,
    name: `Run ${run.letter.toUpperCase()}: ${run.info.title}`,
    line: { color: run.color, width: 3 },
    marker: { size: 8, color: run.color },
    hovertemplate: `Run ${run.letter.toUpperCase()} · layer %{x} (%{customdata}): %{y:.3g}<extra></extra>`,
  };
}

function timeTraces(run, measure) {
  const entries = run.record.history.filter((e) => e && e[measure]);
  const x = entries.map((e) => epochsAt(run, e));
  const layers = run.info.layers;
  return layers.map((name, i) => ({
    type: "scatter",
    mode: "lines",
    x,
    y: entries.map((e) => positive(e[measure][i])),
    name: `layer ${i + 1} (${name})`,
    showlegend: i === 0 || i === layers.length - 1,
    line: { color: depthColor(i, layers.length), width: i === 0 || i === layers.length - 1 ? 3 : 1.5 },
    hovertemplate: `layer ${i + 1} (${name}): %{y:.3g}<br>epoch %{x:.2f}<extra></extra>`,
  }));
}

export function createGradientCharts({ profile, scrub, stepNote, overTime }) {
  let following = true; // the profile shows the latest step until the scrub is moved back
  let runs = [];
  let measure = "grad_norms";
  const boxes = new Map(); // letter → { root, chart }

  scrub.addEventListener("input", () => {
    following = Number(scrub.value) >= Number(scrub.max);
    drawProfile();
  });

  function drawProfile() {
    const step = Number(scrub.value);
    const count = Math.max(1, ...runs.map((run) => run.info.layers.length));
    stepNote.textContent = step ? `at step ${step}${following ? " (the latest)" : ""}` : "";
    drawChart(profile, runs.map((run) => profileTrace(run, measure, step)), chartLayout(
      Math.max(260, profile.clientWidth), PROFILE_HEIGHT, {
        margin: { l: 70, r: 12, t: 8, b: 44 },
        showlegend: runs.length > 1, // which line is which run, beside the cards' colours
        legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 13 } },
        xaxis: { title: { text: "layer (1 = first)", standoff: 4 }, range: [0.5, count + 0.5], dtick: count > 16 ? 2 : 1, zeroline: false },
        yaxis: { type: "log", exponentformat: "power", zeroline: false, nticks: 6, title: { text: LABELS[measure], standoff: 2 } },
      },
    ));
  }

  function box(run) {
    let found = boxes.get(run.letter);
    if (!found) {
      const root = element("figure", `chart-box time-box run-${run.letter}`);
      root.dataset.run = run.letter;
      const caption = element("figcaption");
      const chart = element("div", "chart");
      root.append(caption, chart);
      found = { root, caption, chart };
      boxes.set(run.letter, found);
    }
    found.caption.replaceChildren(
      element("span", `run-swatch run-${run.letter}`),
      element("span", "", `Run ${run.letter.toUpperCase()} over time: ${run.info.title}`),
      element("span", "hint", "a line per layer, dark = first"),
    );
    return found;
  }

  function drawOverTime() {
    const shown = runs.map(box);
    overTime.replaceChildren(...shown.map((b) => b.root));
    runs.forEach((run, i) => {
      const chart = shown[i].chart;
      drawChart(chart, timeTraces(run, measure), chartLayout(Math.max(260, chart.clientWidth), TIME_HEIGHT, {
        margin: { l: 70, r: 12, t: 8, b: 40 },
        showlegend: true,
        legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 13 } },
        xaxis: { title: { text: "epoch", standoff: 4 }, range: [0, run.info.config.epochs] },
        yaxis: { type: "log", exponentformat: "power", zeroline: false, nticks: 6, title: { text: LABELS[measure], standoff: 2 } },
      }));
    });
  }

  function render(next) {
    runs = next;
    const last = lastStep(runs);
    scrub.max = String(last);
    scrub.min = last ? "1" : "0";
    if (following || Number(scrub.value) > last) scrub.value = String(last);
    drawProfile();
    drawOverTime();
  }

  function setMeasure(name) {
    measure = name;
    render(runs);
  }

  function reset() {
    following = true;
    boxes.clear();
  }

  return { render, setMeasure, reset };
}
