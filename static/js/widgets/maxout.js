// The maxout section of the activations page: a worked unit (each piece's products and sum,
// the largest one marked) and the one-dimensional picture, all numbers from the server.

import { INK, chartLayout, drawChart, line } from "../draw/charts.js";
import { expressionLine } from "../draw/expression.js";
import { factor, fmt } from "../lib/format.js";

const SUBSCRIPTS = ["₁", "₂", "₃", "₄", "₅"];

export function renderMaxout(example, { xText, expression, plot }) {
  xText.textContent = `x = [${example.x.map((v) => fmt(v)).join(", ")}]`;
  const lines = example.pieces.map((piece, k) => {
    const products = piece.weights.map((w, i) => `${factor(w)}×${factor(example.x[i])}`);
    const text = `${products.join(" + ")} + ${factor(piece.bias)}`;
    const row = expressionLine(`z${SUBSCRIPTS[k]}`, text, fmt(piece.value));
    if (k === example.winner) row.classList.add("expr-winner");
    return row;
  });
  const values = example.pieces.map((p, k) => `z${SUBSCRIPTS[k]}`).join(", ");
  const total = expressionLine("output", `max(${values})`, fmt(example.value));
  total.classList.add("expr-total");
  expression.replaceChildren(...lines, total);

  const { curve } = example;
  const pieces = curve.pieces.map((y, k) => line(curve.x, y,
    { color: INK.soft, dash: "dash", width: 2, name: `piece ${k + 1}` }));
  drawChart(plot, [...pieces, line(curve.x, curve.y, { name: "maxout", width: 4 })],
    chartLayout(420, 300, { yaxis: { range: [-4, 7] } }));
}
