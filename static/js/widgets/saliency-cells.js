// The cells of a grid of saliency maps (saliency-cell.js) kept by key, for the saliency
// page and /compare: a cell is made once per key and shown again while a render wants it;
// one that a render no longer shows stops its computation. Each map is a job started with
// the image picker's image (uploaded again if the server has forgotten it).
//
//   const cells = createCells(picker);
//   cells.begin();
//   grid.append(cells.show("gradient|0", { title, data, name, url, image, photo, width }));
//   cells.prune();
//   bindOpacity(slider, output, 0.7, (value) => cells.setOpacity(value));

import { startJob } from "../lib/jobs.js";
import { createCell } from "./saliency-cell.js";

export function createCells(picker, opacity = 0.7) {
  const cells = new Map();
  let wanted = new Set();

  // The root of `key`'s cell (made with `title` and the `data` attributes), computing the
  // map of `url` for `image` over `photo` unless it already shows it.
  function show(key, { title, data = {}, name, url, image, photo, width }) {
    wanted.add(key);
    let cell = cells.get(key);
    if (!cell) {
      cell = createCell(title);
      Object.assign(cell.root.dataset, data);
      cells.set(key, cell);
    }
    cell.setOpacity(opacity);
    if (cell.url !== url || cell.image !== image) {
      cell.url = url;
      cell.image = image;
      cell.compute({
        name,
        photo,
        width,
        start: (signal, onProgress) => picker.withImage((id) => {
          const form = new FormData();
          form.append("image_id", id);
          return startJob(url, { form, onProgress, signal });
        }),
      });
    }
    return cell.root;
  }

  // A render starts: no cell is wanted until it is shown again.
  function begin() {
    wanted = new Set();
  }

  // A render ends: the cells it did not show stop and are forgotten.
  function prune() {
    for (const [key, cell] of cells) {
      if (!wanted.has(key)) {
        cell.cancel();
        cells.delete(key);
      }
    }
  }

  function setOpacity(value) {
    opacity = value;
    for (const cell of cells.values()) cell.setOpacity(value);
  }

  return { begin, show, prune, setOpacity };
}

// The maps' opacity slider and its percentage: `onInput(value)` as it moves.
export function bindOpacity(slider, shown, value, onInput) {
  const say = (v) => { shown.textContent = `${Math.round(v * 100)}%`; };
  slider.value = String(value);
  say(value);
  slider.addEventListener("input", () => {
    const v = Number(slider.value);
    say(v);
    onInput(v);
  });
}
