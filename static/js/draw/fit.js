// Cell sizes for a row of figure columns (the input, the kernel, the output, ...) so that
// the row fits the room it has: every column's grids stacked, or side by side when that
// gives larger cells (three channels of a tall input), or, on a narrow screen, the columns
// one under another. Small columns (a kernel, a window) keep larger cells than the data
// around them when the room allows, so their few numbers stay readable.
//
//   const fit = fitColumns([
//     { grids: [[7, 7], [7, 7], [7, 7]] },              // the input's three channels
//     { grids: [[3, 3], [3, 3], [3, 3]], small: true },  // the kernel's slices
//     { grids: [[5, 5], [5, 5]] },                      // two feature maps
//   ], { width: 900, height: 380, maxCell: 56 });
//   fit.cells[j]   pixels per cell of column j
//   fit.side[j]    column j's grids side by side (else one under another)
//   fit.wrap       the columns one under another
//
// A column may fix its layout (`side: true`), need `extra` pixels across (signs), say
// how narrow it can be (`min`, its heading's width) and how large its cells must be to
// print its numbers whole (`need`, gridview's cellFor: an output of "−19"s gets larger
// cells than an input of single digits), given in one row unless that costs the data more
// than a quarter of their cells (the numbers then print smaller, or not at all). The room may say how narrow any column
// can be (`minColumn`) and how wide the signs between columns are (`op`).

const HEAD = 36; // a column's heading
const CAPTION = 22; // a grid's caption
const GAP = 9; // between the grids of a column
const OP = 60; // an operator sign between two columns, with its gaps
const MARGIN = 4; // Plotly's margins around a grid
const MIN_COLUMN = 126; // a column is never narrower (its heading stays readable: app.css)
const SMALL_CELL = 44; // what a small column's cells grow to when the data's are too small
const READABLE = 22; // ... to print their numbers anyway (12 px fonts, 0.55 of a cell): data cells this large stay so
const MIN_CELL = 8;
const SAFETY = 8; // pixels of the width left over, for rounding
const NEED_COST = 0.75; // the data's cells may shrink this far so that numbers print whole

const sum = (values) => values.reduce((a, b) => a + b, 0);

// One column's size: cells across and down, and fixed pixels across and down (`extra`:
// more pixels across, such as signs between its grids).
function columnSize({ grids, extra = 0 }, side) {
  const n = grids.length;
  if (side) {
    return {
      w: sum(grids.map(([, c]) => c)), h: Math.max(...grids.map(([r]) => r)),
      fw: n * MARGIN + (n - 1) * GAP + extra, fh: HEAD + CAPTION + MARGIN,
    };
  }
  return {
    w: Math.max(...grids.map(([, c]) => c)), h: sum(grids.map(([r]) => r)),
    fw: MARGIN, fh: HEAD + n * (CAPTION + MARGIN) + (n - 1) * GAP,
  };
}

// The largest cell from MIN_CELL to `max` for which `fits(cell)` holds (MIN_CELL if none).
function largest(fits, max) {
  let [lo, hi] = [MIN_CELL, Math.max(MIN_CELL, Math.floor(max))];
  if (!fits(lo)) return MIN_CELL;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Columns in one row: one cell size for the data, and for the small columns the same, or
// SMALL_CELL when the data's cells are too small to print numbers anyway.
function rowFit(columns, sizes, { width, height, maxCell, minColumn = MIN_COLUMN, op = OP }) {
  const cellsOf = (data, small) => columns.map((c) => Math.max(c.small ? small : data, c.need || 0));
  const fits = (cells) => {
    const across = sum(sizes.map((s, j) => Math.max(columns[j].min ?? minColumn, s.w * cells[j] + s.fw)));
    const down = Math.max(...sizes.map((s, j) => s.h * cells[j] + s.fh));
    return across + op * (columns.length - 1) <= width && down <= height;
  };
  const uniform = largest((d) => fits(cellsOf(d, d)), maxCell);
  let cells = cellsOf(uniform, uniform);
  if (uniform < READABLE && columns.some((c) => c.small)) {
    const small = Math.min(maxCell, SMALL_CELL);
    const data = largest((d) => fits(cellsOf(d, small)), maxCell);
    if (fits(cellsOf(data, small))) cells = cellsOf(data, small);
  }
  const data = cells.filter((_, j) => !columns[j].small);
  const score = fits(cells) ? Math.min(...(data.length ? data : cells)) : 0; // 0: it overflows
  return { cells, score, wrap: false };
}

// Columns one under another, each as wide as the room.
function wrapFit(columns, sizes, { width, height, maxCell, op = OP }) {
  const cells = sizes.map((s) => Math.min(maxCell, (width - s.fw) / s.w));
  const tall = sum(sizes.map((s, j) => s.h * cells[j] + s.fh)) + op * (columns.length - 1);
  const shrink = Number.isFinite(height) && tall > height ? height / tall : 1;
  const scaled = cells.map((c) => Math.floor(c * shrink));
  const data = scaled.filter((_, j) => !columns[j].small);
  return { cells: scaled, score: Math.min(...(data.length ? data : scaled)), wrap: true };
}

export function fitColumns(columns, room) {
  const inside = { ...room, width: room.width - SAFETY };
  const plain = bestFit(columns.map((c) => ({ ...c, need: 0 })), inside, true);
  if (plain.wrap || !columns.some((c) => c.need)) return plain;
  const needed = bestFit(columns, inside, false); // in one row, each column's numbers whole
  return needed.score > 0 && needed.score >= plain.score * NEED_COST ? needed : plain;
}

// The fit with the largest data cells of every layout (one under another too, if `wrap`).
function bestFit(columns, room, wrap) {
  const choices = columns.map((c) => {
    if (c.side !== undefined) return [c.side];
    return c.grids.length > 1 ? [false, true] : [false];
  });
  let best = null;
  const consider = (side) => {
    const sizes = columns.map((c, j) => columnSize(c, side[j]));
    for (const fit of [rowFit(columns, sizes, room), ...(wrap ? [wrapFit(columns, sizes, room)] : [])]) {
      if (fit.wrap && columns.length === 1) continue;
      const better = !best || fit.score > best.score
        || (fit.score === best.score && !fit.wrap && best.wrap);
      if (better) best = { ...fit, side: [...side] };
    }
  };
  const walk = (j, side) => {
    if (j === columns.length) return consider(side);
    for (const choice of choices[j]) walk(j + 1, [...side, choice]);
    return null;
  };
  walk(0, []);
  best.cells = best.cells.map((c) => Math.max(MIN_CELL, Math.floor(c)));
  return best;
}

// Lay out a row of figure columns (`.figure-col`, each with its `.plots`) as `fit` says.
export function arrange(figures, fit) {
  figures.classList.toggle("wrap", fit.wrap);
  figures.querySelectorAll(":scope > .figure-col").forEach((column, j) => {
    column.querySelector(".plots").classList.toggle("side", Boolean(fit.side[j]));
  });
}
