// Drawing for the detection page (pages/detect.js), on canvases: the photo with windows and
// boxes over it, one window's crop as the network sees it (resized to its input), and a map
// of scores, one cell per window, filled as the window slides.
//
//   const view = photoView(canvas, image, imageWidth, imageHeight, maxWidth);
//   view.draw([{ box, color, width, dash, label }]);
//   drawCrop(canvas, image, box, scale, side);
//   drawScoreMap(canvas, scores, { filled, current, cell });

import { scheme, palette } from "../lib/colormaps.js";

export const INK = {
  window: "#f59e0b",
  kept: "#16a34a",
  current: "#15803d",
  removed: "#dc2626",
  waiting: "#94a3b8",
  found: "#facc15",
};

const SMALL = 200; // images narrower than this are drawn with square pixels

// A canvas sized to show the photo at most `maxWidth` CSS pixels wide; boxes are given in
// the image's own pixels (the picture drawn may be a smaller display copy).
export function photoView(canvas, image, width, height, maxWidth) {
  const shown = Math.max(1, Math.min(maxWidth, width * 8)); // small images enlarged
  const factor = shown / width;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(shown * ratio);
  canvas.height = Math.round(height * factor * ratio);
  canvas.style.width = `${shown}px`;
  canvas.style.height = `${Math.round(height * factor)}px`;
  const ctx = canvas.getContext("2d");
  const scale = factor * ratio;

  function draw(marks = []) {
    ctx.imageSmoothingEnabled = width >= SMALL;
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    for (const mark of marks) {
      const { box } = mark;
      ctx.save();
      ctx.strokeStyle = mark.color;
      ctx.lineWidth = (mark.width || 2) * ratio;
      ctx.setLineDash((mark.dash || []).map((d) => d * ratio));
      const inset = ctx.lineWidth / 2;
      ctx.strokeRect(box.x * scale + inset, box.y * scale + inset,
        box.width * scale - 2 * inset, box.height * scale - 2 * inset);
      if (mark.fill) {
        ctx.fillStyle = mark.fill;
        ctx.fillRect(box.x * scale, box.y * scale, box.width * scale, box.height * scale);
      }
      if (mark.label) {
        // a label on the box's top edge, or stacked up from its bottom edge (`row`) so
        // that the labels of boxes sharing an edge do not cover each other
        const height = Math.round(19 * ratio);
        const y = mark.row === undefined ? box.y * scale + inset
          : (box.y + box.height) * scale - inset - height * (mark.row + 1);
        if (y >= box.y * scale) label(mark.label, box.x * scale + inset, y, mark.color);
      }
      ctx.restore();
    }
  }

  function label(text, x, y, color) {
    const size = Math.round(13 * ratio);
    ctx.font = `600 ${size}px system-ui, sans-serif`;
    const w = ctx.measureText(text).width + 8 * ratio;
    ctx.setLineDash([]);
    ctx.fillStyle = color;
    ctx.fillRect(x, y, w, size + 6 * ratio);
    ctx.fillStyle = color === INK.found || color === INK.window ? "#0f172a" : "#ffffff";
    ctx.fillText(text, x + 4 * ratio, y + size + 1 * ratio);
  }

  return { draw, factor };
}

// One window cut out of the picture and drawn at the network's input size (`side`, in CSS
// pixels `shown`): what the classifier is asked about. `scale`: picture pixels per image pixel.
export function drawCrop(canvas, image, box, scale, side, shown) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(shown * ratio);
  canvas.height = Math.round(shown * ratio);
  canvas.style.width = `${shown}px`;
  canvas.style.height = `${shown}px`;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = side >= SMALL;
  ctx.drawImage(image, box.x * scale, box.y * scale, box.width * scale, box.height * scale,
    0, 0, canvas.width, canvas.height);
}

// A score map: one cell per window (rows: tops, columns: lefts), coloured from 0 to 1, the
// first `filled` cells (row order) shown and the rest left blank; `current` ([row, col])
// outlined; numbers printed when the cells are large enough.
export function drawScoreMap(canvas, scores, { filled = Infinity, current = null, maxWidth = 320 } = {}) {
  const rows = scores.length;
  const cols = scores[0].length;
  const cell = Math.max(4, Math.min(48, Math.floor(maxWidth / cols)));
  const ratio = window.devicePixelRatio || 1;
  canvas.width = cols * cell * ratio;
  canvas.height = rows * cell * ratio;
  canvas.style.width = `${cols * cell}px`;
  canvas.style.height = `${rows * cell}px`;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const colours = palette(scheme().sequential);
  ctx.fillStyle = "#f1f5f9";
  ctx.fillRect(0, 0, cols * cell, rows * cell);
  const printing = cell >= 34;
  ctx.font = `${Math.round(cell * 0.3)}px ui-monospace, monospace`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) {
      if (r * cols + c >= filled) continue;
      const value = scores[r][c];
      const level = Math.max(0, Math.min(255, Math.round(value * 255)));
      const [red, green, blue] = colours[level];
      ctx.fillStyle = `rgb(${red}, ${green}, ${blue})`;
      ctx.fillRect(c * cell, r * cell, cell, cell);
      if (printing) {
        ctx.fillStyle = red + green + blue < 330 ? "#ffffff" : "#0f172a";
        ctx.fillText(value.toFixed(2), c * cell + cell / 2, r * cell + cell / 2);
      }
    }
  }
  ctx.strokeStyle = "#cbd5e1";
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, 0.5, cols * cell - 1, rows * cell - 1);
  if (current) {
    ctx.strokeStyle = INK.window;
    ctx.lineWidth = 3;
    ctx.strokeRect(current[1] * cell + 1.5, current[0] * cell + 1.5, cell - 3, cell - 3);
  }
  return cell;
}
