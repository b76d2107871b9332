// Editable number grids: one small table of inputs per 2-D slice. Edits are reported per
// cell through `onEdit(slice, row, col, value)`; text that is not a number is marked and
// not reported.
//
//   renderGrids(container, [{ label: "channel 0", values: [[1, 2], [3, 4]] }], onEdit);

import { fmt, parseNumber } from "../lib/format.js";

export function renderGrids(container, slices, onEdit) {
  container.replaceChildren(...slices.map((slice, s) => table(slice, s)));
  container.oninput = (event) => {
    const cell = event.target;
    if (!cell.matches("input[data-r]")) return;
    const value = parseNumber(cell.value);
    const ok = Number.isFinite(value);
    cell.classList.toggle("invalid", !ok);
    cell.setAttribute("aria-invalid", ok ? "false" : "true");
    if (ok) onEdit(Number(cell.dataset.s), Number(cell.dataset.r), Number(cell.dataset.c), value);
  };
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
