// Settings panels and the request behind them. `createControls(root)` reads and writes the
// named inputs of a panel (integers clamped to their limits, (h, w) pairs as `name_h` and
// `name_w`, radio buttons by their checked value); `createLive(...)` sends one request per change of settings, aborts the older one,
// and marks the stage `data-state="loading" | "ready" | "error"` with the server's sentence;
// `createEditing(...)` recomputes after edits; `showSource` tells where a preset comes from.

import { latestOnly, postJSON } from "./api.js";
import { clearFailure, showFailure } from "./dom.js";

export function createControls(root) {
  const field = (name) => root.querySelector(`[name="${name}"]`);

  function int(name, lo, hi) {
    const value = Math.round(Number(field(name).value));
    const ok = Number.isFinite(value) ? Math.max(lo, Math.min(hi, value)) : lo;
    field(name).value = String(ok);
    return ok;
  }

  return {
    field,
    int,
    pair: (name, lo, hi) => [int(`${name}_h`, lo, hi), int(`${name}_w`, lo, hi)],
    set(values) {
      for (const [name, value] of Object.entries(values)) field(name).value = String(value);
    },
    setPair(name, [h, w]) {
      field(`${name}_h`).value = String(h);
      field(`${name}_w`).value = String(w);
    },
    // The value of the checked radio button of a group, and checking one.
    choice: (name) => root.querySelector(`[name="${name}"]:checked`).value,
    setChoice(name, value) {
      root.querySelector(`[name="${name}"][value="${value}"]`).checked = true;
    },
    // `handler(event)` on a change of any input of these names (every radio of a group).
    onChange(names, handler) {
      for (const name of names) {
        root.querySelectorAll(`[name="${name}"]`).forEach((input) => input.addEventListener("change", handler));
      }
    },
  };
}

// `stage` gets data-state; `errorBox` shows the server's message; `onResult(data, ...args)`
// draws a successful answer. Returns `run(body, ...args)`.
export function createLive({ url, stage, errorBox, onResult }) {
  const request = latestOnly((body, signal) => postJSON(url, body, signal));
  async function run(body, ...args) {
    stage.dataset.state = "loading";
    let data;
    try {
      data = await request(body);
    } catch (error) {
      if (error.name !== "AbortError") showFailure(stage, errorBox, error);
      return;
    }
    clearFailure(stage, errorBox);
    onResult(data, ...args);
    stage.dataset.state = "ready";
  }
  run.cancel = () => request.cancel(); // an answer on its way is no longer wanted
  return run;
}

// After an edit the view is the user's own (no preset any more) and is recomputed: after a
// short pause while typing in a grid, at once (`now`) for a setting. `recompute(keepStep)`
// starts the request; a change of shape starts the steps over. `stage` is marked "loading"
// from the edit on, so nobody (a person or a test) takes the old picture for the new one.
// While `blocked()` (a field holds text that is not a valid value) nothing is computed.
export function createEditing({
  presetSelect, boxes, forget, recompute, delay = 250, stage = document.getElementById("stage"),
  blocked = () => false,
}) {
  let timer = null;
  function edited({ now = false, keepStep = true } = {}) {
    forget();
    presetSelect.value = "";
    showSource(null, boxes);
    clearTimeout(timer);
    if (blocked()) return;
    if (stage) stage.dataset.state = "loading";
    timer = setTimeout(() => recompute(keepStep), now ? 0 : delay);
  }
  edited.cancel = () => clearTimeout(timer);
  return edited;
}

// Show where a preset comes from and, when the slide was wrong, the note that says so.
export function showSource(preset, { note, noteText, source }) {
  const text = (preset && preset.note) || "";
  note.hidden = !text;
  noteText.textContent = text;
  source.textContent = preset ? `From: ${preset.source}` : "Your own numbers";
}
