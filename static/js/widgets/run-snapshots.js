// A run's snapshots as it learns (pages/training.js): its first layer's filters, drawn as
// pixels on a diverging scale centred at 0 (blue negative, red positive), and the watched
// held-out digits with the network's current answer (green: right, red: wrong). A scrub
// goes back through the snapshots; at its end it follows the run.
//
//   const view = createSnapshots(run, watched);  // watched: the page's payload.watched
//   container.append(view.root); view.render(run);

import { element } from "../lib/dom.js";
import { fmt, percent } from "../lib/format.js";

const TILE = 72; // pixels per filter, about
const NEGATIVE = [37, 99, 235];
const POSITIVE = [220, 38, 38];

function colour(value, limit) {
  const t = Math.max(-1, Math.min(1, limit ? value / limit : 0));
  const end = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(t);
  return `rgb(${end.map((c) => Math.round(255 + (c - 255) * a)).join(",")})`;
}

// Every filter of a snapshot side by side on `canvas`; the scale's limit is returned.
export function drawFilters(canvas, filters) {
  const count = filters.length;
  const [kh, kw] = [filters[0].length, filters[0][0].length];
  const cell = Math.max(4, Math.round(TILE / Math.max(kh, kw)));
  const gap = 6;
  const columns = Math.min(count, 8);
  const rows = Math.ceil(count / columns);
  canvas.width = columns * (kw * cell + gap) - gap;
  canvas.height = rows * (kh * cell + gap) - gap;
  const limit = Math.max(...filters.flat(2).map(Math.abs)) || 1;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  filters.forEach((filter, f) => {
    const left = (f % columns) * (kw * cell + gap);
    const top = Math.floor(f / columns) * (kh * cell + gap);
    filter.forEach((row, r) => row.forEach((value, c) => {
      context.fillStyle = colour(value, limit);
      context.fillRect(left + c * cell, top + r * cell, cell, cell);
    }));
  });
  return limit;
}

function digitFigure(digit) {
  const figure = element("figure", "watched-digit");
  const image = element("img");
  image.src = digit.src;
  image.alt = `held-out digit ${digit.label}`;
  image.width = 56;
  image.height = 56;
  const caption = element("figcaption");
  figure.append(image, caption);
  return { figure, caption };
}

export function createSnapshots(run, watched) {
  const root = element("section", `snapshot-card run-${run.letter}`);
  root.dataset.run = run.letter;
  const head = element("h3");
  const filtersNote = element("p", "hint");
  const canvas = element("canvas", "filters-canvas");
  const scrubLabel = element("label", "scrub");
  const scrub = element("input");
  scrub.type = "range";
  scrub.min = "0";
  scrub.max = "0";
  scrub.value = "0";
  scrub.setAttribute("aria-label", `Run ${run.letter.toUpperCase()}: snapshot shown`);
  scrubLabel.append("Snapshot ", scrub);
  const digitsTitle = element("p", "digits-title", "Held-out digits: the network's answer now");
  const digits = element("div", "watched-digits");
  const figures = watched.map(digitFigure);
  digits.append(...figures.map((f) => f.figure));
  root.append(head, canvas, filtersNote, scrubLabel, digitsTitle, digits);

  let following = true;
  let current = run;
  scrub.addEventListener("input", () => {
    following = Number(scrub.value) >= Number(scrub.max);
    show(Number(scrub.value));
  });

  function show(index) {
    const snapshot = current.record.snapshots[index];
    if (!snapshot) return;
    const limit = drawFilters(canvas, snapshot.filters);
    const [kh, kw] = [snapshot.filters[0].length, snapshot.filters[0][0].length];
    // weights blown up by a learning rate too large: ±5.13e+18, not nineteen digits
    const shownLimit = limit >= 1e4 ? limit.toExponential(2) : fmt(limit, 3);
    filtersNote.textContent = `${snapshot.filters.length} filters of ${kh}×${kw}, `
      + `step ${snapshot.step} (epoch ${fmt(snapshot.epoch, 2)}); colours ±${shownLimit}`;
    root.dataset.step = String(snapshot.step);
    snapshot.predictions.forEach((p, i) => {
      // a network whose outputs are not numbers any more (diverging): no answer
      const lost = p.probability === null;
      const right = !lost && p.predicted === watched[i].label;
      figures[i].caption.textContent = lost ? "NaN" : `${p.predicted} · ${percent(p.probability)}`;
      figures[i].figure.classList.toggle("right", right);
      figures[i].figure.classList.toggle("wrong", !right);
    });
    const correct = snapshot.predictions.filter(
      (p, i) => p.probability !== null && p.predicted === watched[i].label,
    ).length;
    digits.dataset.correct = String(correct);
  }

  function render(next) {
    current = next;
    head.replaceChildren(
      element("span", `run-swatch run-${run.letter}`),
      `Run ${run.letter.toUpperCase()}: first-layer filters`,
    );
    const count = next.record.snapshots.filter(Boolean).length;
    scrub.max = String(Math.max(0, count - 1));
    if (following) scrub.value = scrub.max;
    show(Number(scrub.value));
  }

  return { root, render };
}
