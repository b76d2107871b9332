// Number and expression formatting shared by every page: a true minus sign, at most four
// decimals, negative factors in parentheses: `0×0 + 1×(−1) + … = 3`; probabilities as
// percentages and sizes in bytes.

export const MINUS = "\u2212";
const MAX_TERMS_SHOWN = 25; // longer sums show their head and tail around an ellipsis
const HEAD = 12;
const TAIL = 4;

export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  let text = Number.isInteger(value) ? String(value) : String(parseFloat(value.toFixed(digits)));
  if (text === "-0") text = "0";
  return text.replace("-", MINUS);
}

export function factor(value) {
  return value < 0 ? `(${fmt(value)})` : fmt(value);
}

// `parts` joined by `separator`; a long list shows its head and tail around an ellipsis.
export function joinShown(parts, separator) {
  if (parts.length <= MAX_TERMS_SHOWN) return parts.join(separator);
  const hidden = parts.length - HEAD - TAIL;
  return [...parts.slice(0, HEAD), `… ${hidden} more …`, ...parts.slice(-TAIL)].join(separator);
}

export function productsText(terms) {
  return joinShown(terms.map(([x, w]) => `${factor(x)}×${factor(w)}`), " + ");
}

export function sumText(values) {
  return values.map(factor).join(" + ");
}

export function parseNumber(text) {
  const cleaned = String(text).trim().replace(/\u2212/g, "-");
  if (cleaned === "") return NaN;
  return Number(cleaned);
}

// A probability as a percentage: one decimal, "<0.1%" for the tiny ones.
export function percent(p) {
  if (p >= 0.9995) return "100%";
  if (p >= 0.001) return `${(p * 100).toFixed(1)}%`;
  return p > 0 ? "<0.1%" : "0%";
}

export function bytesText(n) {
  if (n >= 1 << 20) return `${parseFloat((n / (1 << 20)).toFixed(1))} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} kB`;
  return `${n} bytes`;
}
