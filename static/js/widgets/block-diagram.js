// The block diagram of a network's architecture page: one box per block (a residual block,
// a VGG conv block, a U-Net level), indented by how many times the picture has been halved
// by then (so U-Net draws its U as a V and a ResNet its stages as steps), and arcs on the
// right for the connections that skip ahead: residual shortcuts (+) and concatenated skip
// connections (∥). Every number comes from the server (app/services/architecture_figures.py).

import { element } from "../lib/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const STAGE_COLORS = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626"];
const LANE = 11; // px between two arcs side by side

export function compact(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

function linkTitle(link, blocks) {
  const from = link.from < 0 ? "the input" : blocks[link.from].name;
  if (link.kind === "concat") return `skip connection: ${from}'s maps, cropped and concatenated in ${blocks[link.to].name}`;
  if (link.kind === "sum") {
    const how = link.via === "identity" ? "identity shortcut" : `projection shortcut (${link.via})`;
    return `${how}: ${from}'s output added in ${blocks[link.to].name}`;
  }
  return `${from} read again in ${blocks[link.to].name}`;
}

// Lanes: shorter spans inside, so nested skips (U-Net) do not cross.
function lanes(links) {
  const order = links.map((link, i) => i).sort((a, b) => (links[a].to - links[a].from) - (links[b].to - links[b].from));
  const placed = [];
  const lane = new Array(links.length).fill(0);
  for (const i of order) {
    const { from, to } = links[i];
    let n = 0;
    while (placed.some((p) => p.lane === n && p.from < to && from < p.to)) n += 1;
    lane[i] = n;
    placed.push({ from, to, lane: n });
  }
  return lane;
}

export function createBlockDiagram(root, { blocks, links }) {
  const stages = [...new Set(blocks.map((b) => b.stage))];
  const laneOf = lanes(links);
  const width = (Math.max(-1, ...laneOf) + 1) * LANE + 14;
  const list = element("ol", "blocks");
  list.style.setProperty("--arcs", `${width}px`);
  let scale = 0;
  blocks.forEach((block, index) => {
    if (block.scale !== null) scale = block.scale;
    const item = element("li", "block");
    item.dataset.index = String(index);
    item.style.setProperty("--indent", String(Math.max(scale, 0)));
    item.style.setProperty("--stage", STAGE_COLORS[stages.indexOf(block.stage) % STAGE_COLORS.length]);
    const head = element("div", "block-head");
    head.append(element("span", "block-name mono", block.name), element("span", "block-shape mono", block.output_shape.join(" × ")));
    const cost = `${compact(block.parameters)} parameters · ${compact(block.macs)} multiply-adds`;
    item.append(head, element("div", "block-words", block.words), element("div", "block-cost", cost));
    item.title = `${block.rows.length} rows: ${block.rows.join(", ")}`;
    list.append(item);
  });
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "block-arcs");
  svg.setAttribute("aria-hidden", "true");
  root.replaceChildren(list, svg);

  function drawArcs() {
    svg.replaceChildren();
    const box = root.getBoundingClientRect();
    const items = [...list.children];
    const right = Math.max(...items.map((item) => item.getBoundingClientRect().right)) - box.left;
    svg.setAttribute("width", String(box.width));
    svg.setAttribute("height", String(box.height));
    links.forEach((link, i) => {
      const to = items[link.to].getBoundingClientRect();
      const from = link.from >= 0 ? items[link.from].getBoundingClientRect() : { top: box.top, bottom: box.top, right: to.right };
      const y0 = (link.from >= 0 ? from.bottom - 8 : box.top + 2) - box.top;
      const y1 = to.top + to.height / 2 - box.top;
      const x = right + 6 + laneOf[i] * LANE;
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", `M ${from.right - box.left} ${y0} H ${x} V ${y1} H ${to.right - box.left}`);
      path.setAttribute("class", `arc arc-${link.kind}`);
      path.setAttribute("marker-end", "");
      const title = document.createElementNS(SVG, "title");
      title.textContent = linkTitle(link, blocks);
      path.append(title);
      const tip = document.createElementNS(SVG, "text");
      tip.setAttribute("x", String(to.right - box.left + 2));
      tip.setAttribute("y", String(y1 - 3));
      tip.setAttribute("class", "arc-mark");
      tip.textContent = link.kind === "concat" ? "∥" : link.kind === "sum" ? "+" : "";
      svg.append(path, tip);
    });
    root.dataset.state = "ready";
    root.dataset.links = String(links.length);
  }

  drawArcs();
  new ResizeObserver(() => drawArcs()).observe(root);
  return { redraw: drawArcs, linkTitle: (i) => linkTitle(links[i], blocks) };
}
