// Presenter mode: the page as a lecturer projects it. The controls fold away and the stage
// (grids, the current window, the expression with its result, the stepper) fills the
// screen with large numbers; `present=1` in the URL keeps it across a reload or a link.
// The body carries the class `presenting`; pages that size their figures to the room they
// have redraw on `onLayoutChange` (presenter mode switched, or the window resized).
//
//   import { isPresenting, onLayoutChange } from "../lib/presenter.js";
//   onLayoutChange(() => redraw());

import { readParams, writeParams } from "./urlstate.js";

const LAYOUT = "convscope:layout";
const RESIZE_MS = 150;

if (readParams().get("present") === "1") document.body.classList.add("presenting");

export function isPresenting() {
  return document.body.classList.contains("presenting");
}

export function setPresenting(on) {
  if (on === isPresenting()) return;
  document.body.classList.toggle("presenting", on);
  writeParams({ present: on ? "1" : null });
  window.dispatchEvent(new Event(LAYOUT));
}

// `handler()` after presenter mode is switched or the window is resized (once it settles).
export function onLayoutChange(handler) {
  let timer = null;
  window.addEventListener(LAYOUT, () => handler());
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(handler, RESIZE_MS);
  });
}

const PHONE = 700; // narrower than this, a page scrolls: figures fit the width only
const GUESS = 170; // pixels under the figures at first: the step's text and the stepper
const MARGIN = 10;
const FLOOR = 0.45; // figures keep at least this share of the screen's height, readable

const docTop = (element) => element.getBoundingClientRect().top + window.scrollY;
const docBottom = (element) => element.getBoundingClientRect().bottom + window.scrollY;

// The bottom of the room a stage has, in page coordinates: the screen in presenter mode;
// else the screen once the stage is scrolled to its top; a phone has no bottom.
function limitOf(stage) {
  if (window.innerWidth < PHONE) return Infinity;
  if (isPresenting()) return window.innerHeight;
  return docTop(stage) + window.innerHeight;
}

// The room for a stage's figures, so that what must stay visible under them (the
// expression with its result, the stepper) is on screen with them:
//
//   const room = createRoom(stage);
//   draw(room.box(figures));                     // { width, height } for the figures
//   if (room.refit([[figures, stepper]])) draw(room.box(figures));   // it did not fit
//
// `refit` measures, for each pair, what is under the figures once drawn (two views side
// by side: two pairs); it asks for one redraw at most per `reset()` (a new trace, a new
// layout). The figures never get less than FLOOR of the screen's height: a long sum
// written out for many channels may then end below it (outside presenter mode).
export function createRoom(stage) {
  let below = GUESS;
  let tried = false;
  return {
    box(figures, { width = figures.clientWidth } = {}) {
      const height = limitOf(stage) - docTop(figures) - below - MARGIN;
      return { width, height: Math.max(FLOOR * window.innerHeight, height) };
    },
    refit(pairs) {
      const present = pairs.filter(([figures, last]) => figures && last);
      if (!present.length) return false;
      const measured = Math.max(...present.map(([figures, last]) => docBottom(last) - docBottom(figures)));
      const over = Math.max(...present.map(([, last]) => docBottom(last) + MARGIN - limitOf(stage)));
      const changed = over > 1 || measured < below - 40;
      below = measured;
      if (tried || !changed) return false;
      tried = true;
      return true;
    },
    reset() {
      tried = false;
    },
  };
}
