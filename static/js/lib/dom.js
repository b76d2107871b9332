// The DOM helpers every page uses: an element by id, the page's data (the JSON block its
// template writes with `ui.payload`), a new element with a class and a text, and a failed
// request shown on a stage.

import { errorText } from "./api.js";

export const $ = (id) => document.getElementById(id);

export function readPayload(id = "payload") {
  return JSON.parse($(id).textContent);
}

export function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

// A request for `stage` failed: its sentence in `box`, the old picture dimmed.
export function showFailure(stage, box, error) {
  box.hidden = false;
  box.textContent = errorText(error);
  stage.classList.add("stale");
  stage.dataset.state = "error";
}

// An answer came: no error, nothing dimmed (the caller marks the stage ready once drawn).
export function clearFailure(stage, box) {
  box.hidden = true;
  stage.classList.remove("stale");
}
