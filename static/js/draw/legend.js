// Colour bars: a scale's colours with the values at its ends (and 0 when it diverges) and a
// note, as the feature maps, the filters and the saliency maps show them.
//
//   renderLegend(box, { kind: "diverging", zmin: -2, zmax: 2 }, { diverging: stops }, "note");

import { fmt } from "../lib/format.js";

export function gradient(stops) {
  return `linear-gradient(to right, ${stops.map(([p, c]) => `${c} ${p * 100}%`).join(", ")})`;
}

// A colour bar: the scale's colours with the values at its ends (and 0 when it diverges).
export function renderLegend(box, color, stops, note = "") {
  const bar = document.createElement("div");
  bar.className = "legend-bar";
  bar.style.background = gradient(stops[color.kind]);
  const ticks = document.createElement("div");
  ticks.className = "legend-ticks";
  const values = color.kind === "diverging" ? [color.zmin, 0, color.zmax] : [color.zmin, color.zmax];
  ticks.replaceChildren(...values.map((v) => {
    const tick = document.createElement("span");
    tick.textContent = fmt(v, 3);
    return tick;
  }));
  const parts = [bar, ticks];
  if (note) {
    const text = document.createElement("span");
    text.className = "legend-note";
    text.textContent = note;
    parts.push(text);
  }
  box.replaceChildren(...parts);
}
