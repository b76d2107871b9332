// A view's settings in its URL, so a reload or a shared link opens the same view, and Back
// and Forward move between the examples and settings shown (not between steps).
// Arrays are written compactly as `shape:values`, e.g. `1x3x3:0,1,2,3,4,5,6,7,8`, and (h, w)
// pairs as `2` or `3,2`.

export function shapeOf(array) {
  const shape = [];
  let probe = array;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  return shape;
}

export function encodeArray(array) {
  return `${shapeOf(array).join("x")}:${array.flat(Infinity).join(",")}`;
}

export function decodeArray(text) {
  const [shapeText, valuesText] = String(text).split(":");
  const shape = shapeText.split("x").map(Number);
  const values = (valuesText || "").split(",").map(Number);
  const size = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((n) => Number.isInteger(n) && n > 0) || values.length !== size
      || !values.every(Number.isFinite)) {
    return null;
  }
  const build = (depth, offset) => {
    if (depth === shape.length - 1) return values.slice(offset, offset + shape[depth]);
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[depth] }, (_, i) => build(depth + 1, offset + i * stride));
  };
  return build(0, 0);
}

export function encodePair([h, w]) {
  return h === w ? String(h) : `${h},${w}`;
}

export function decodePair(text, fallback) {
  if (text === null || text === undefined) return fallback;
  const parts = String(text).split(",").map(Number);
  if (!parts.every(Number.isInteger)) return fallback;
  if (parts.length === 1) return [parts[0], parts[0]];
  if (parts.length === 2) return parts;
  return fallback;
}

export function readParams() {
  return new URLSearchParams(window.location.search);
}

// A 1-based step number in the URL (`step=3`) as a 0-based index; 0 when absent or bad.
export function readStep(params, key = "step") {
  return Math.max(0, Number.parseInt(params.get(key) || "1", 10) - 1) || 0;
}

let timer = null;
let pending = {};
let pushing = false;
let onHistory = null; // what the page does when Back or Forward brings another of its URLs
let shown = currentQuery(); // the path and query the page shows (a new #anchor is not a view)

function currentQuery() {
  return `${window.location.pathname}${window.location.search}`;
}

// Update the query string: the given keys are set, a null value removes its key, other keys
// stay. Writes within 200 ms are merged into one. A step, a zoom or a typed number replaces
// the current history entry; `{ push: true }` (an example, a setting, an image) adds one, so
// that Back returns to the view before it (an unchanged URL adds nothing).
export function writeParams(params, { push = false } = {}) {
  Object.assign(pending, params);
  pushing = pushing || push;
  clearTimeout(timer);
  timer = setTimeout(flushParams, 200);
}

// Write what writeParams is holding now (before the page is left, or a view is saved).
export function flushParams() {
  clearTimeout(timer);
  const query = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(pending)) {
    if (value === null || value === undefined) query.delete(key);
    else query.set(key, String(value));
  }
  const push = pushing;
  pending = {};
  pushing = false;
  const text = query.toString()
    .replace(/%3A/g, ":").replace(/%2C/g, ",").replace(/%7E/g, "~"); // readable, still valid
  const url = `${window.location.pathname}${text ? `?${text}` : ""}${window.location.hash}`;
  if (url === `${window.location.pathname}${window.location.search}${window.location.hash}`) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
  shown = currentQuery();
}

// `handler()` runs when Back or Forward lands on another entry of this page (its URL is
// already the new one); a page that registers none is loaded again from the URL.
export function onHistoryChange(handler) {
  onHistory = handler;
}

window.addEventListener("popstate", () => {
  if (currentQuery() === shown) return; // an anchor within the page
  shown = currentQuery();
  clearTimeout(timer);
  pending = {};
  pushing = false;
  if (onHistory) onHistory();
  else window.location.reload();
});
