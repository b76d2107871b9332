// Written-out arithmetic, as the pages show it.
//
// One line of a written-out sum, `label  a×b + c×d + … = result`, as the dark expression
// boxes show it (class names in app.css): it wraps between terms, so the result is always
// on screen. `after` adds a note past the result.
//
//   box.replaceChildren(expressionLine("R", productsText(terms), fmt(value), "→ 255"));

export function expressionLine(label, text, result, after = "") {
  const div = document.createElement("div");
  div.className = "expr-line";
  if (label) {
    const tag = document.createElement("span");
    tag.className = "expr-label";
    tag.textContent = label;
    div.append(tag);
  }
  const body = document.createElement("span");
  body.className = "expr-body";
  body.append(...terms(text));
  const ending = document.createElement("span");
  ending.className = "expr-result"; // "= 3" never wraps away from the last term
  const value = document.createElement("strong");
  value.textContent = result;
  ending.append(" = ", value);
  if (after) {
    const note = document.createElement("span");
    note.className = "expr-after";
    note.textContent = ` ${after}`;
    ending.append(note);
  }
  body.append(ending);
  div.append(body);
  return div;
}

// The terms of a sum, each kept whole when the line wraps (between terms, after a " + ").
function terms(text) {
  const parts = String(text).split(" + ");
  return parts.flatMap((part, i) => {
    const term = document.createElement("span");
    term.className = "expr-term";
    term.textContent = part;
    return i < parts.length - 1 ? [term, " + "] : [term];
  });
}

// An output-size formula ({H: {symbolic, substituted}, W: ...}; 1-D: {L}; 3-D: {D, H, W})
// as two lines per axis: the symbols, then the current numbers.
export function formulaLines(formula) {
  return Object.keys(formula).map((axis) => {
    const div = document.createElement("div");
    div.className = "formula-line";
    const symbols = document.createElement("div");
    symbols.className = "formula-symbolic";
    symbols.textContent = formula[axis].symbolic;
    const numbers = document.createElement("div");
    numbers.className = "formula-numbers";
    numbers.textContent = formula[axis].substituted;
    div.append(symbols, numbers);
    return div;
  });
}

export function renderFormula(container, formula) {
  container.replaceChildren(...formulaLines(formula));
}
