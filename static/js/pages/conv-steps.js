// What the convolution playground's views (2-D, 1-D, 3-D) share: the padding as a person
// types it ("1", "1, 2", "1, 0, 1, 0", "same", "valid") and as the URL keeps it, the padding
// mode, which cells of a padded input are padding, the border of the input inside a padding
// of copied values, and a step's multiply-and-sum written out channel by channel.

import { expressionLine } from "../draw/expression.js";
import * as H from "../draw/heatmap.js";
import { factor, fmt, productsText, sumText } from "../lib/format.js";

const WORDS = ["same", "valid"];
const SIDES = { 1: "left, right", 2: "top, bottom, left, right", 3: "front, back, top, bottom, left, right" };
const AXES = { 1: "length", 2: "rows, cols", 3: "slices, rows, cols" };

// The typed padding as the API takes it: "same", "valid", one number per axis or two per
// axis; { problem } (a sentence) when it is none of these.
export function parsePadding(text, dims) {
  const typed = String(text).trim().toLowerCase();
  if (WORDS.includes(typed)) return typed;
  const parts = typed.split(/[\s,]+/).filter(Boolean);
  const numbers = parts.map(Number);
  if (!parts.length || !numbers.every((n) => Number.isInteger(n) && n >= 0)) {
    return { problem: `Padding “${text}”: type whole numbers (0 or more), “same” or “valid”` };
  }
  if (numbers.length === 1) return Array(dims).fill(numbers[0]);
  if (numbers.length === dims || numbers.length === 2 * dims) return numbers;
  const counts = dims === 1 ? "1 number or 2 (left, right)" : `1 number, ${dims} (${AXES[dims]}) or ${2 * dims} (${SIDES[dims]})`;
  return { problem: `Padding: ${numbers.length} numbers; type ${counts}` };
}

// A padding as it is typed back: "1" for the same on every side, else the numbers.
export function paddingText(value) {
  if (typeof value === "string") return value;
  return value.every((v) => v === value[0]) ? String(value[0]) : value.join(", ");
}

// A preset's padding (a number, a list or a word) as the views keep it.
export function presetPadding(padding, dims) {
  return typeof padding === "number" ? Array(dims).fill(padding) : padding;
}

// Whole numbers ≥ `lo`, one for every axis or one per axis ("2" or "1, 2, 1").
export function parseAxes(text, dims, lo, hi, label) {
  const numbers = String(text).trim().split(/[\s,]+/).filter(Boolean).map(Number);
  const ok = numbers.length && numbers.every((n) => Number.isInteger(n) && n >= lo && n <= hi);
  if (!ok || (numbers.length !== 1 && numbers.length !== dims)) {
    const per = dims === 1 ? "" : ` or ${dims} (${AXES[dims]})`;
    return { problem: `${label} “${text}”: type 1 whole number${per} from ${lo} to ${hi}` };
  }
  return numbers.length === 1 ? Array(dims).fill(numbers[0]) : numbers;
}

// The padding setting of the 2-D view for lib/settings.js: one text field.
export function paddingSetting(dims) {
  return {
    names: (name) => [name],
    fromQuery(query, name, fallback) {
      if (!query.has(name)) return fallback;
      const value = parsePadding(query.get(name), dims);
      return value.problem ? fallback : value;
    },
    toQuery: (value) => paddingText(value).replace(/ /g, ""),
    show(controls, name, value) {
      controls.field(name).value = paddingText(value);
    },
    read: (controls, name) => parsePadding(controls.field(name).value, dims),
  };
}

// The padding mode for lib/settings.js: a menu of `modes`.
export function modeSetting(modes) {
  return {
    names: (name) => [name],
    fromQuery: (query, name, fallback) => (modes.includes(query.get(name)) ? query.get(name) : fallback),
    toQuery: (value) => value,
    show(controls, name, value) {
      controls.field(name).value = value;
    },
    read: (controls, name) => controls.field(name).value,
  };
}

// A test for the padding of a padded grid of `sizes` (one per axis) with `pads` [[before,
// after], ...]: true where the coordinates (one per axis) fall in the padding.
export function paddingTest(pads, sizes) {
  return (...at) => at.some((i, axis) => i < pads[axis][0] || i >= sizes[axis] - pads[axis][1]);
}

// The dashed outline of the input inside its padding (rows and columns of the last two
// axes), drawn when the padding holds copied values rather than zeros.
export function inputBorder(pads, rows, cols) {
  const [top, bottom] = pads.length > 1 ? pads[pads.length - 2] : [0, 0];
  const [left, right] = pads[pads.length - 1];
  return H.rect(top, left, rows - bottom - 1, cols - right - 1, { color: "#475569", width: 2, dash: "dash" });
}

// What a padding mode puts in the padding, for a hint under the figures.
export const MODE_TEXT = {
  zeros: "zeros (grey)",
  reflect: "the input mirrored without its edge (inside the dashed line: the input)",
  replicate: "the edge repeated (inside the dashed line: the input)",
  circular: "the input wrapped around (inside the dashed line: the input)",
};

// A step's sum of products in `box`: one line, or one per input channel and their total.
export function writeSum(box, step, channels, channelLabel) {
  const perChannel = step.terms.length / channels;
  const biasText = `${factor(step.bias)} (bias)`;
  const lines = [];
  if (channels === 1) {
    lines.push(expressionLine("", `${productsText(step.terms)} + ${biasText}`, fmt(step.value)));
  } else {
    for (let k = 0; k < channels; k += 1) {
      const terms = step.terms.slice(k * perChannel, (k + 1) * perChannel);
      lines.push(expressionLine(channelLabel(k), productsText(terms), fmt(step.partials[k])));
    }
    const total = expressionLine("total", `${sumText(step.partials)} + ${biasText}`, fmt(step.value));
    total.classList.add("expr-total");
    lines.push(total);
  }
  box.replaceChildren(...lines);
}
