// The settings of an operation page, by kind. Each kind knows the names of its inputs, how
// to read its value from the URL and from the settings panel, and how to write it back to
// both. A page lists its settings once, in the order its URL shows them:
//
//   settings: { bias: bias((config) => config.kernel.length), stride: pair(1, 64), flip: flag() }
//
// and the operation page (operation-page.js) does the rest. `read` answers `{ problem }`
// for text that is not a valid value: the page says why and computes nothing until it is.

import { fmt, parseNumber } from "./format.js";
import { fitLength } from "./shapes.js";
import { decodePair, encodePair } from "./urlstate.js";

const samePair = (a, b) => a[0] === b[0] && a[1] === b[1];

// An (h, w) pair of whole numbers from lo to hi, as the inputs `name_h` and `name_w`.
// `follows`: another pair this one copies while the two are equal (a pooling stride that
// is the window: a new window takes the stride with it).
export function pair(lo, hi, { follows = null } = {}) {
  return {
    names: (name) => [`${name}_h`, `${name}_w`],
    fromQuery: (query, name, fallback) => decodePair(query.get(name), fallback),
    toQuery: (value) => encodePair(value),
    show: (controls, name, value) => controls.setPair(name, value),
    read(controls, name, { config, before, event }) {
      const led = follows && event && event.target.name.startsWith(`${follows}_`);
      if (led && samePair(before[name], before[follows])) controls.setPair(name, config[follows]);
      return controls.pair(name, lo, hi);
    },
  };
}

// A checkbox, `1` or `0` in the URL.
export function flag() {
  return {
    names: (name) => [name],
    fromQuery: (query, name, fallback) => (query.has(name) ? query.get(name) === "1" : fallback),
    toQuery: (value) => (value ? "1" : "0"),
    show(controls, name, value) {
      controls.field(name).checked = value;
    },
    read: (controls, name) => controls.field(name).checked,
  };
}

// One of `values`, as a group of radio buttons.
export function choice(values) {
  return {
    names: (name) => [name],
    fromQuery: (query, name, fallback) => (values.includes(query.get(name)) ? query.get(name) : fallback),
    toQuery: (value) => value,
    show: (controls, name, value) => controls.setChoice(name, value),
    read: (controls, name) => controls.choice(name),
  };
}

// One number per output channel, typed as a comma-separated list; `count(config)` says how
// many (one number typed is used for every channel).
export function bias(count) {
  return {
    names: (name) => [name],
    fromQuery(query, name, fallback, config) {
      const values = (query.get(name) || "").split(",").map(parseNumber);
      const given = query.has(name) && values.every(Number.isFinite);
      return fitLength(given ? values : fallback, count(config));
    },
    toQuery: (value) => value.join(","),
    show(controls, name, value) {
      controls.field(name).value = value.map((b) => fmt(b, 6)).join(", ");
    },
    read(controls, name, { config }) {
      const problem = biasProblem(controls.field(name).value, count(config));
      if (problem) return { problem };
      return fitLength(controls.field(name).value.split(",").map(parseNumber), count(config));
    },
  };
}

// Why a typed bias list cannot be used with `count` output channels (null: it can).
function biasProblem(text, count) {
  if (!text.trim()) return "Bias is empty: type a number (0 for none)";
  const parts = text.split(",").map((part) => part.trim());
  const bad = parts.find((part) => !Number.isFinite(parseNumber(part)));
  if (bad !== undefined) return bad ? `Bias: “${bad}” is not a number` : "Bias: a number is missing between commas";
  if (parts.length !== 1 && parts.length !== count) {
    const channels = `${count} output channel${count === 1 ? "" : "s"}`;
    return `Bias: ${parts.length} numbers for ${channels}: type ${count === 1 ? "one" : `${count}, one per channel, or one for all`}`;
  }
  return null;
}
