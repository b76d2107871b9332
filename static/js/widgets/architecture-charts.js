// The architecture page's charts (data from app/services/architecture_figures.py):
// where the parameters and the multiply-adds are, block by block, as shares of the whole;
// and the receptive field's growth, layer after sliding-window layer, against the input.

import { chartLayout, drawChart, INK } from "../draw/charts.js";
import { compact } from "./block-diagram.js";

const PARAMS = "#2563eb";
const MACS = "#ea580c";

function share(part, whole) {
  return whole ? (100 * part) / whole : 0;
}

// One sentence: which kind of layer holds most parameters, which does most arithmetic.
export function costSentence(byKind, totals) {
  const mostParams = [...byKind].sort((a, b) => b.parameters - a.parameters)[0];
  const mostMacs = [...byKind].sort((a, b) => b.macs - a.macs)[0];
  if (!mostParams) return "";
  const p = `${mostParams.kind[0].toUpperCase()}${mostParams.kind.slice(1)} hold ${compact(mostParams.parameters)} of the ${compact(totals.parameters)} parameters (${share(mostParams.parameters, totals.parameters).toFixed(1)}\u00a0%)`;
  const m = `${mostMacs.kind} do ${compact(mostMacs.macs)} of the ${compact(totals.macs)} multiply-adds (${share(mostMacs.macs, totals.macs).toFixed(1)}\u00a0%)`;
  return `${p}; ${m}.`;
}

export function drawCost(div, blocks, totals) {
  const names = blocks.map((b) => b.name);
  const hover = (what, values) => blocks.map((b, i) => `${b.name}: ${compact(values[i])} ${what} (%{x:.1f}\u00a0%)`);
  const params = blocks.map((b) => b.parameters);
  const macs = blocks.map((b) => b.macs);
  const traces = [
    { type: "bar", orientation: "h", name: "parameters", y: names, x: params.map((v) => share(v, totals.parameters)),
      marker: { color: PARAMS }, hovertext: hover("parameters", params), hoverinfo: "text" },
    { type: "bar", orientation: "h", name: "multiply-adds", y: names, x: macs.map((v) => share(v, totals.macs)),
      marker: { color: MACS }, hovertext: hover("multiply-adds", macs), hoverinfo: "text" },
  ];
  const width = div.clientWidth || 480;
  const height = Math.max(220, 22 * blocks.length * 1.4 + 90);
  const layout = chartLayout(width, height, {
    barmode: "group",
    bargap: 0.25,
    showlegend: true,
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0 },
    margin: { l: Math.min(150, 8 + 7.5 * Math.max(...names.map((n) => n.length))), r: 10, t: 30, b: 40 },
    xaxis: { title: { text: "% of the network's total" }, rangemode: "tozero" },
    yaxis: { autorange: "reversed", tickfont: { size: 12 }, zeroline: false },
  });
  return drawChart(div, traces, layout);
}

export function fieldSentence(growth, inputSize) {
  if (!growth.length) return "This network has no convolution or pooling: each unit of a dense layer sees the whole input.";
  const [h] = inputSize;
  const whole = growth.findIndex((g) => g.size[0] >= h);
  const last = growth[growth.length - 1];
  if (whole >= 0) {
    return `From the ${ordinal(whole + 1)} sliding-window layer (${growth[whole].name}) on, a unit's field is ${growth[whole].size[0]} pixels tall: as tall as the ${h}-pixel input or taller (the rest is padding).`;
  }
  return `After ${growth.length} sliding-window layers, a unit of ${last.name} sees ${last.size.join(" × ")} pixels of the ${inputSize.join(" × ")} input, its neighbours ${last.jump ? last.jump[0] : "–"} pixels apart.`;
}

function ordinal(n) {
  const suffix = n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th";
  return `${n}${suffix}`;
}

export function drawFieldGrowth(div, growth, inputSize) {
  const x = growth.map((g, i) => i + 1);
  const traces = [
    { type: "scatter", mode: "lines+markers", name: "receptive field", x, y: growth.map((g) => g.size[0]),
      line: { color: INK.line, width: 3 }, marker: { size: 6 },
      hovertext: growth.map((g) => `${g.name} (${g.type}): ${g.size.join(" × ")} pixels, jump ${g.jump ? g.jump.join(" × ") : "–"}, maps ${g.output.join(" × ")}`),
      hoverinfo: "text" },
    { type: "scatter", mode: "lines", name: "input height", x: [0.5, growth.length + 0.5], y: [inputSize[0], inputSize[0]],
      line: { color: INK.soft, dash: "dash", width: 2 }, hoverinfo: "skip" },
  ];
  const width = div.clientWidth || 480;
  const layout = chartLayout(width, 280, {
    showlegend: true,
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0 },
    margin: { l: 52, r: 10, t: 30, b: 44 },
    xaxis: { title: { text: "convolution or pooling layer, in order" }, zeroline: false },
    yaxis: { title: { text: "field (pixels)" }, rangemode: "tozero" },
  });
  return drawChart(div, traces, layout);
}
