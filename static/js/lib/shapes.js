// Small helpers for nested arrays (grids, stacks) and (h, w) pairs, shared by the pages.

export { shapeOf } from "./urlstate.js";

export const clone = (a) => JSON.parse(JSON.stringify(a));
export const asPair = (v) => (Array.isArray(v) ? [...v] : [v, v]);
export const zeros = (rows, cols) => Array.from({ length: rows }, () => Array(cols).fill(0));

// An H×W grid as a one-channel stack; a stack as it is.
export const asStack = (a) => (Array.isArray(a[0][0]) ? a : [a]);

// `grid` cut or extended with zeros to rows × cols.
export function resize(grid, rows, cols) {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => (grid[r] && grid[r][c] !== undefined ? grid[r][c] : 0)));
}

// A stack of grids (a kernel: O×C×kh×kw, or C×O×kh×kw when transposed) cut or extended
// with zeros to `shape`.
export function resize4d(stack, [outer, inner, rows, cols]) {
  return Array.from({ length: outer }, (_, i) => Array.from({ length: inner }, (_, j) =>
    resize((stack[i] && stack[i][j]) || [], rows, cols)));
}

// `values` fitted to `count` entries: one value repeated, or cut / extended with zeros.
export function fitLength(values, count) {
  if (values.length === count) return values;
  if (values.length === 1) return Array(count).fill(values[0]);
  return Array.from({ length: count }, (_, i) => values[i] ?? 0);
}

export const randomInt = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
