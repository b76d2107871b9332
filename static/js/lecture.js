// The lecture tools of every page (templates/_lecture_tools.html, _lecture.html), loaded by
// base.html before the page's own script: presenter mode (the button, the P key, Escape to
// leave it; `present=1` in the URL), the lecture's thread (its dialog; PageDown and PageUp
// step along it in presenter mode), and the figures: their export and the colour maps (a
// choice kept in the browser; the page is drawn again in them). A network page's links to
// its other views carry the image shown (lib/carry.js).

import { carryImage } from "./lib/carry.js";
import { schemeName, setScheme } from "./lib/colormaps.js";
import { $ } from "./lib/dom.js";
import { isPresenting, setPresenting } from "./lib/presenter.js";
import { createFigureExport } from "./widgets/figure-export.js";
import { createThreadPanel } from "./widgets/thread-panel.js";

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA"]);

function showPresenting() {
  const on = isPresenting();
  $("present-toggle").setAttribute("aria-pressed", String(on));
  $("present-toggle").querySelector(".tool-label").textContent = on ? "Presenting" : "Present";
}

function toggle(on = !isPresenting()) {
  setPresenting(on);
  showPresenting();
  if (document.activeElement && document.activeElement.tagName === "BUTTON") {
    document.activeElement.blur(); // space and the arrows go to the stepper, not the button
  }
}

function onKey(event, thread) {
  if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
  if (document.querySelector(".lecture-dialog[open]")) return; // the thread's or the export's
  const typing = TYPING.has(event.target.tagName) || event.target.isContentEditable;
  if ((event.key === "p" || event.key === "P") && !typing) {
    event.preventDefault();
    toggle();
  } else if (event.key === "Escape" && isPresenting() && !document.querySelector("dialog[open]")) {
    toggle(false);
  } else if ((event.key === "PageDown" || event.key === "PageUp") && isPresenting() && !typing) {
    event.preventDefault();
    thread.step(event.key === "PageDown" ? 1 : -1);
  }
}

function bindColours() {
  for (const choice of document.querySelectorAll('input[name="colours"]')) {
    choice.checked = choice.value === schemeName();
    choice.addEventListener("change", () => {
      setScheme(choice.value);
      window.location.reload(); // every figure is drawn again in the new colours
    });
  }
}

function bindDialogs() {
  for (const dialog of document.querySelectorAll(".lecture-dialog")) {
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }
}

function start() {
  const thread = createThreadPanel();
  createFigureExport();
  carryImage();
  bindColours();
  bindDialogs();
  showPresenting();
  $("present-toggle").addEventListener("click", () => toggle());
  $("present-exit").addEventListener("click", () => toggle(false));
  document.addEventListener("keydown", (event) => onKey(event, thread));
}

start();
