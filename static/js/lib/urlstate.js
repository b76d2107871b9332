// A view's settings in its URL, so a reload or a shared link opens the same view.
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

// Update the query string (no new history entry): the given keys are set, a null value
// removes its key, other keys stay. Writes within 200 ms are merged into one.
export function writeParams(params) {
  Object.assign(pending, params);
  clearTimeout(timer);
  timer = setTimeout(() => {
    const query = new URLSearchParams(window.location.search);
    for (const [key, value] of Object.entries(pending)) {
      if (value === null || value === undefined) query.delete(key);
      else query.set(key, String(value));
    }
    pending = {};
    const text = query.toString()
      .replace(/%3A/g, ":").replace(/%2C/g, ",").replace(/%7E/g, "~"); // readable, still valid
    window.history.replaceState(null, "", `${window.location.pathname}?${text}`);
  }, 200);
}
