// The training page's curves (pages/training.js): training loss on a log scale, held-out
// accuracy at each epoch's end and the learning rate, one line per run on shared axes
// (run A blue, run B red). `render(runs)` draws them; a run is { letter, color, info,
// record } (lib/training-run.js).
//
//   const curves = createCurves({ loss: $("loss-chart"), accuracy: ..., lr: ... });
//   curves.render(runs);

import { chartLayout, drawChart } from "../draw/charts.js";

const HEIGHT = 230;

// Epochs done at an entry: its step over the run's steps per epoch.
export function epochsAt(run, entry) {
  return entry.step / run.info.steps_per_epoch;
}

function trace(run, x, y, extra = {}) {
  return {
    type: "scatter",
    mode: "lines",
    x,
    y,
    name: `Run ${run.letter.toUpperCase()}`,
    line: { color: run.color, width: 3 },
    hovertemplate: `Run ${run.letter.toUpperCase()}: %{y}<br>epoch %{x:.2f}<extra></extra>`,
    ...extra,
  };
}

function lossTraces(run) {
  const entries = run.record.history.filter((e) => e && e.loss !== null && e.loss > 0);
  const traces = [trace(run, entries.map((e) => epochsAt(run, e)), entries.map((e) => e.loss), {
    hovertemplate: `Run ${run.letter.toUpperCase()}: loss %{y:.4g}<br>epoch %{x:.2f}<extra></extra>`,
  })];
  const diverged = run.record.history.find((e) => e && e.loss === null);
  if (diverged && entries.length) {
    traces.push({
      type: "scatter", mode: "markers+text", x: [epochsAt(run, diverged)],
      y: [entries[entries.length - 1].loss], text: ["NaN"], textposition: "top center",
      marker: { symbol: "x", size: 16, color: run.color }, hoverinfo: "skip",
      textfont: { color: run.color, size: 16 },
    });
  }
  return traces;
}

function accuracyTrace(run) {
  const ends = run.record.history.filter((e) => e && e.heldout_accuracy !== undefined);
  return trace(run, ends.map((e) => e.epoch), ends.map((e) => 100 * e.heldout_accuracy), {
    mode: "lines+markers",
    marker: { size: 9, color: run.color },
    hovertemplate: `Run ${run.letter.toUpperCase()}: %{y:.1f}%<br>epoch %{x}<extra></extra>`,
  });
}

function lrTrace(run) {
  const entries = run.record.history.filter((e) => e);
  return trace(run, entries.map((e) => epochsAt(run, e)), entries.map((e) => e.lr), {
    line: { color: run.color, width: 3, dash: run.letter === "b" ? "dash" : "solid" }, // same rates: both seen
    hovertemplate: `Run ${run.letter.toUpperCase()}: %{y:.3g}<br>epoch %{x:.2f}<extra></extra>`,
  });
}

function epochs(runs) {
  return Math.max(1, ...runs.map((run) => run.info.config.epochs));
}

export function createCurves(divs) {
  let currentRuns = [];

  function layout(div, extra) {
    return chartLayout(Math.max(240, div.clientWidth), HEIGHT, {
      margin: { l: 58, r: 12, t: 8, b: 40 },
      ...extra,
      xaxis: { title: { text: "epoch", standoff: 4 }, range: [0, epochs(currentRuns)], ...(extra.xaxis || {}) },
    });
  }

  function render(runs) {
    currentRuns = runs;
    drawChart(divs.loss, runs.flatMap(lossTraces), layout(divs.loss, {
      yaxis: { type: "log", exponentformat: "power", zeroline: false, nticks: 6 },
    }));
    drawChart(divs.accuracy, runs.map(accuracyTrace), layout(divs.accuracy, {
      yaxis: { range: [0, 100], ticksuffix: "%", dtick: 20 },
      xaxis: { dtick: 1, range: [0, epochs(runs) + 0.2] },
    }));
    drawChart(divs.lr, runs.map(lrTrace), layout(divs.lr, {
      yaxis: { rangemode: "tozero", exponentformat: "e" },
    }));
  }

  return { render };
}
