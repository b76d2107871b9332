// A finished run's held-out report (pages/training.js): the confusion matrix (rows: the
// true digit, columns: the network's answer, each cell the count of the 1,000 held-out
// digits) and the worst mistakes, the wrong answers it was surest of.
//
//   container.append(renderReport(run));  // run.record.result: the API's result

import { PLOT_CONFIG, SEQUENTIAL } from "../draw/heatmap.js";
import { element } from "../lib/dom.js";
import { percent } from "../lib/format.js";

const SIDE = 340;

function confusionFigure(div, confusion) {
  const digits = confusion.map((_, i) => String(i));
  const total = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const trace = {
    type: "heatmap",
    z: confusion.map((row, i) => row.map((n) => (total[i] ? n / total[i] : 0))),
    x: digits,
    y: digits,
    text: confusion.map((row) => row.map(String)),
    texttemplate: "%{text}",
    textfont: { size: 13 },
    colorscale: SEQUENTIAL,
    zmin: 0,
    zmax: 1,
    showscale: false,
    hovertemplate: "true %{y}, said %{x}: %{text}<extra></extra>",
    xgap: 1,
    ygap: 1,
  };
  const width = Math.min(SIDE, Math.max(240, div.clientWidth || SIDE));
  const layout = {
    width,
    height: width,
    margin: { l: 48, r: 6, t: 6, b: 44 },
    paper_bgcolor: "rgba(0,0,0,0)",
    xaxis: { title: { text: "the network said", standoff: 4 }, dtick: 1, fixedrange: true, tickfont: { size: 14 } },
    yaxis: { title: { text: "true digit", standoff: 4 }, dtick: 1, autorange: "reversed", fixedrange: true, tickfont: { size: 14 } },
    font: { size: 14 },
  };
  window.Plotly.react(div, [trace], layout, PLOT_CONFIG);
}

function mistakeFigure(mistake) {
  const figure = element("figure", "mistake");
  const image = element("img");
  image.src = mistake.png;
  image.alt = `a ${mistake.label} read as ${mistake.predicted}`;
  image.width = 56;
  image.height = 56;
  const caption = element("figcaption");
  caption.append(
    element("strong", "", `${mistake.label} → ${mistake.predicted}`),
    element("span", "hint", ` ${percent(mistake.probability)}`),
  );
  figure.title = `held-out digit ${mistake.index}: a ${mistake.label}, read as a `
    + `${mistake.predicted} (${percent(mistake.probability)}; the right digit ${percent(mistake.label_probability)})`;
  figure.append(image, caption);
  return figure;
}

export function renderReport(run) {
  const result = run.record.result;
  const root = element("section", `report-card run-${run.letter}`);
  root.dataset.run = run.letter;
  const head = element("h3");
  head.append(element("span", `run-swatch run-${run.letter}`), `Run ${run.letter.toUpperCase()}: held-out report`);
  root.append(head);
  if (!result.report) {
    root.append(element("p", "hint", "The run diverged: there is nothing to report."));
    return root;
  }
  const { report } = result;
  const matrix = element("div", "confusion");
  const mistakes = element("div", "mistakes");
  mistakes.append(...report.mistakes.map(mistakeFigure));
  const worst = element("p", "digits-title", report.mistakes.length
    ? "The worst mistakes (true → said, and how sure it was)"
    : "No mistakes on the 1,000 held-out digits");
  root.append(
    element("p", "", `${percent(report.accuracy)} of the 1,000 held-out digits right.`),
    matrix, worst, mistakes,
  );
  requestAnimationFrame(() => confusionFigure(matrix, report.confusion));
  return root;
}
