// Editable number grids: one small table of inputs per 2-D slice. Edits are reported per
// cell through `onEdit(slice, row, col, value)`; text that is not a number is not reported
// but handed to `onProblem(key, cell, message)` (and `onProblem(key, cell, null)` once the
// cell holds a number again), so that the page can say why and stop computing.
//
//   renderGrids(container, [{ label: "channel 0", values: [[1, 2], [3, 4]] }], onEdit,
//     { onProblem: (key, cell, message) => validity.set(key, cell, message) });

import { fmt, parseNumber } from "../lib/format.js";

export function renderGrids(container, slices, onEdit, { onProblem = markOnly } = {}) {
  container.replaceChildren(...slices.map((slice, s) => table(slice, s)));
  container.oninput = (event) => {
    const cell = event.target;
    if (!cell.matches("input[data-r]")) return;
    const [s, r, c] = ["s", "r", "c"].map((key) => Number(cell.dataset[key]));
    const value = parseNumber(cell.value);
    const ok = Number.isFinite(value);
    onProblem(`${container.id}:${s},${r},${c}`, cell, ok ? null : problem(slices[s].label, r, c, cell.value));
    if (ok) onEdit(s, r, c, value);
  };
}

function problem(label, r, c, text) {
  const what = text.trim() ? `“${text.trim()}” is not a number` : "the cell is empty";
  return `${label}, row ${r}, column ${c}: ${what}`;
}

function markOnly(key, cell, message) {
  cell.classList.toggle("invalid", Boolean(message));
  cell.setAttribute("aria-invalid", message ? "true" : "false");
}

function table(slice, s) {
  const figure = document.createElement("figure");
  figure.className = "grid-editor";
  const caption = document.createElement("figcaption");
  caption.textContent = slice.label;
  const grid = document.createElement("table");
  slice.values.forEach((row, r) => {
    const tr = grid.insertRow();
    row.forEach((value, c) => {
      const input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.value = fmt(value, 6);
      input.dataset.s = String(s);
      input.dataset.r = String(r);
      input.dataset.c = String(c);
      input.setAttribute("aria-label", `${slice.label}, row ${r}, column ${c}`);
      tr.insertCell().append(input);
    });
  });
  figure.append(caption, grid);
  return figure;
}
