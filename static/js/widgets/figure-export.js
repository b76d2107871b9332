// Export any figure of the page (the "Export" dialog of templates/_lecture.html): every
// Plotly figure as PNG (twice its screen size) and SVG (vectors), and every picture
// (feature maps, filter galleries, saliency maps, the drawing canvas) as PNG, small ones
// scaled up with square pixels so they stay sharp on a slide. Named after the page and the
// figure's caption.
//
//   createFigureExport();        // binds the button and the dialog
//   exportFigure(figure, "png"); // figure: one entry of findFigures()

import { $, element } from "../lib/dom.js";

const SCALE = 2; // PNG pixels per screen pixel
const MIN_SIDE = 512; // a picture smaller than this is scaled up (whole times) for a slide
const SELECTOR = ".js-plotly-plot, main img, main canvas, dialog[open] img";

const visible = (node) => node.getClientRects().length > 0 && node.offsetWidth > 0 && node.offsetHeight > 0;

// What a figure is called: its caption, else the heading of its section, else its label.
function captionOf(node) {
  const figure = node.closest("figure");
  const caption = figure && figure.querySelector("figcaption");
  if (caption && caption.textContent.trim()) return caption.textContent;
  const section = node.closest("section, .figure-col, .view, dialog, .panel");
  const heading = section && section.querySelector("h2, h3");
  if (heading && heading.textContent.trim()) return heading.textContent;
  return node.getAttribute("alt") || node.getAttribute("aria-label") || node.id || "figure";
}

const clean = (text) => text.replace(/\s+/g, " ").trim();

// The figures shown now: { node, kind: "plot" | "picture", caption }.
export function findFigures() {
  const nodes = [...document.querySelectorAll(SELECTOR)].filter((node) => {
    if (!visible(node)) return false;
    if (node.tagName === "IMG") return Boolean(node.currentSrc || node.getAttribute("src"));
    return !node.closest(".js-plotly-plot") || node.classList.contains("js-plotly-plot");
  });
  return nodes.map((node) => ({
    node,
    kind: node.classList.contains("js-plotly-plot") ? "plot" : "picture",
    caption: clean(captionOf(node)),
  }));
}

function fileName(figure, format) {
  const page = window.location.pathname.split("/").filter(Boolean).join("-") || "home";
  const what = figure.caption.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "").slice(0, 60);
  return `${page}-${what || "figure"}.${format}`;
}

function download(href, name) {
  const link = document.createElement("a");
  link.href = href;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}

// A picture (an <img> or a <canvas>) as a PNG data: URL, scaled up by whole times when
// small, with square pixels.
function picturePNG(node) {
  const width = node.naturalWidth || node.width;
  const height = node.naturalHeight || node.height;
  const times = Math.max(1, Math.floor(MIN_SIDE / Math.max(width, height)));
  const canvas = document.createElement("canvas");
  canvas.width = width * times;
  canvas.height = height * times;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(node, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL("image/png");
}

export async function exportFigure(figure, format) {
  const name = fileName(figure, format);
  if (figure.kind === "picture") {
    download(picturePNG(figure.node), name);
    return name;
  }
  const { node } = figure;
  const url = await window.Plotly.toImage(node, {
    format, width: node.offsetWidth, height: node.offsetHeight, scale: format === "png" ? SCALE : 1,
  });
  download(url, name);
  return name;
}

function figureItem(figure, index) {
  const item = element("li", "figure-item");
  item.dataset.index = String(index);
  item.append(element("span", "figure-caption", figure.caption));
  const formats = figure.kind === "plot" ? ["png", "svg"] : ["png"];
  for (const format of formats) {
    const button = element("button", "", format.toUpperCase());
    button.type = "button";
    button.dataset.format = format;
    button.setAttribute("aria-label", `${figure.caption} as ${format.toUpperCase()}`);
    button.addEventListener("click", () => exportFigure(figure, format));
    item.append(button);
  }
  return item;
}

export function createFigureExport() {
  const dialog = $("figures-dialog");
  $("figures-open").addEventListener("click", () => {
    const figures = findFigures();
    const list = $("figure-list");
    list.replaceChildren(...figures.map(figureItem));
    if (!figures.length) list.append(element("li", "hint", "No figure is shown on this page now."));
    dialog.showModal();
  });
}
