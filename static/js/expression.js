// The dark expression panel's lines (`label  0×3 + 1×(−1) + … = 3`) and output-size formulas
// written twice: symbolically, then with the current numbers.

export function exprLine(label, text, result) {
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
  body.textContent = `${text} = `;
  const value = document.createElement("strong");
  value.textContent = result;
  body.append(value);
  div.append(body);
  return div;
}

// `formula` is the API's {H: {symbolic, substituted}, W: {...}}.
export function renderFormula(container, formula) {
  container.replaceChildren(...["H", "W"].map((axis) => {
    const f = formula[axis];
    const div = document.createElement("div");
    div.className = "formula-line";
    const sym = document.createElement("div");
    sym.className = "formula-symbolic";
    sym.textContent = f.symbolic;
    const num = document.createElement("div");
    num.className = "formula-numbers";
    num.textContent = f.substituted;
    div.append(sym, num);
    return div;
  }));
}
