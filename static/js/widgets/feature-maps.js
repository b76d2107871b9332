// Feature maps of every layer of a network for one image: one section per layer, each a
// grid of its maps (palette PNGs from GET /api/models/{name}/layers/{layer}/activations) on
// a colour scale shared by the layer or by each map, with a legend; wide layers are paged
// and sorted by strength. A layer whose output is a vector is a bar chart. Sections load
// when they come near the screen (two requests at a time), so a 144-layer network costs
// only what is looked at.
//
//   const maps = createFeatureMaps(container, { layers, load, onPick });
//   maps.setImage(id);                  // every section reloads when it is (or comes) in view
//   maps.setOptions({ order: "index" });
//   // load(layer, { order, page, per_page, scale }) → the endpoint's answer
//   // onPick({ layer, channel, row, col }) for a map; onPick({ layer, index }) for a vector

import { chartLayout, drawChart } from "../draw/charts.js";
import { renderLegend } from "../draw/legend.js";
import { fmt } from "../lib/format.js";

const PER_PAGE = 16;
const IN_FLIGHT = 2;
const NEAR = "800px 0px"; // how far from the screen a section starts loading
const TILE = 128; // pixels per map side in the grid (pixelated; maps are small)
const TILE_FEW = 168; // ... when a layer has few maps
const VECTOR_HEIGHT = 230;

function shapeText(shape) {
  return shape.join(" × ");
}

export function createFeatureMaps(container, { layers, load, onPick, labels = null }) {
  const fm = {
    layers, load, onPick, labels,
    options: { order: "strength", scale: "layer" },
    image: null,
    running: 0, // requests in flight
    queue: [], // sections waiting for one
    visible: new Set(), // sections near the screen
  };
  fm.sections = layers.map((row, index) => createSection(fm, container, row, index));
  watchVisibility(fm);
  return {
    sections: fm.sections,
    setImage(id) {
      fm.image = id;
      refresh(fm);
    },
    setOptions(changed) {
      Object.assign(fm.options, changed);
      fm.sections.forEach((s) => { s.page = 0; });
      refresh(fm);
    },
    get options() { return { ...fm.options }; },
    scrollTo(index) {
      fm.sections[index].root.scrollIntoView({ block: "start" }); // at once: the layers passed by are not computed
    },
  };
}

function createSection(fm, container, row, index) {
  const root = document.createElement("section");
  root.className = "layer-maps";
  root.id = `maps-${index}`;
  root.dataset.layer = row.name;
  root.dataset.state = "idle";
  root.innerHTML = `
    <header class="layer-head">
      <h3><span class="mono layer-name"></span> <span class="sub layer-what"></span></h3>
      <div class="legend" data-role="legend"></div>
      <div class="pager" data-role="pager" hidden>
        <button type="button" data-role="prev" aria-label="Previous maps">◀</button>
        <span data-role="page"></span>
        <button type="button" data-role="next" aria-label="Next maps">▶</button>
      </div>
    </header>
    <div class="map-grid" data-role="grid"></div>
    <p class="error" data-role="error" hidden></p>`;
  root.querySelector(".layer-name").textContent = row.name;
  root.querySelector(".layer-what").textContent = [row.type, row.text, shapeText(row.output_shape)]
    .filter(Boolean).join(" · ");
  container.append(root);
  const q = (role) => root.querySelector(`[data-role="${role}"]`);
  const section = { row, index, root, q, page: 0, data: null, key: null };
  q("prev").addEventListener("click", () => turn(fm, section, -1));
  q("next").addEventListener("click", () => turn(fm, section, 1));
  q("grid").addEventListener("click", (event) => pickTile(fm, section, event));
  return section;
}

// Sections load when they come near the screen.
function watchVisibility(fm) {
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const section = fm.sections.find((s) => s.root === entry.target);
      if (entry.isIntersecting) {
        fm.visible.add(section);
        schedule(fm, section);
      } else {
        fm.visible.delete(section);
      }
    }
  }, { rootMargin: NEAR });
  fm.sections.forEach((section) => observer.observe(section.root));
}

// The image or the options changed: what is in view reloads, the rest is marked stale.
function refresh(fm) {
  fm.queue.length = 0;
  fm.sections.filter((s) => fm.visible.has(s)).forEach((s) => {
    if (s.data) s.root.dataset.state = "stale";
    schedule(fm, s);
  });
  fm.sections.filter((s) => !fm.visible.has(s) && s.data).forEach((s) => { s.root.dataset.state = "stale"; });
}

function wanted(fm, section) {
  return `${fm.image}|${fm.options.order}|${fm.options.scale}|${section.page}`;
}

function schedule(fm, section) {
  if (!fm.image || section.key === wanted(fm, section) || fm.queue.includes(section)) return;
  if (section.root.dataset.state === "loading" && section.loading === wanted(fm, section)) return;
  fm.queue.push(section);
  pump(fm);
}

function pump(fm) {
  while (fm.running < IN_FLIGHT && fm.queue.length) {
    const section = fm.queue.shift();
    if (!fm.visible.has(section) || section.key === wanted(fm, section)) continue;
    fm.running += 1;
    fetchSection(fm, section).finally(() => {
      fm.running -= 1;
      pump(fm);
    });
  }
}

async function fetchSection(fm, section) {
  const key = wanted(fm, section);
  section.loading = key;
  section.root.dataset.state = "loading";
  let data;
  try {
    data = await fm.load(section.row.name, {
      order: fm.options.order, scale: fm.options.scale, page: section.page, per_page: PER_PAGE,
    });
  } catch (error) {
    if (key !== wanted(fm, section)) return;
    section.q("error").hidden = false;
    section.q("error").textContent = error.message;
    section.root.dataset.state = "error";
    section.key = key; // not retried until something changes
    return;
  }
  if (key !== wanted(fm, section)) return; // the image or the options changed meanwhile
  section.q("error").hidden = true;
  section.data = data;
  section.key = key;
  if (data.kind === "maps") drawMaps(section, data);
  else drawVector(fm, section, data);
  section.root.dataset.state = "ready";
}

function drawMaps(section, data) {
  const [count, height, width] = data.shape;
  const side = count <= 8 ? TILE_FEW : TILE;
  const scale = side / Math.max(height, width);
  const tiles = data.maps.map((map) => {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "map-tile";
    tile.dataset.channel = String(map.channel);
    tile.title = `channel ${map.channel}: ${fmt(map.min, 3)} to ${fmt(map.max, 3)}, `
      + `mean |a| ${fmt(map.strength, 3)}`;
    const img = document.createElement("img");
    img.src = map.png;
    img.alt = `${section.row.name}, channel ${map.channel}`;
    img.width = Math.round(width * scale);
    img.height = Math.round(height * scale);
    const label = document.createElement("span");
    label.className = "tile-label";
    label.textContent = data.scale === "map"
      ? `#${map.channel} · ${fmt(map.min, 2)}…${fmt(map.max, 2)}` : `#${map.channel}`;
    tile.append(img, label);
    return tile;
  });
  section.q("grid").replaceChildren(...tiles);
  section.q("grid").classList.remove("vector-grid");
  const note = data.scale === "map" ? "each map on its own scale: its range is under it" : "";
  renderLegend(section.q("legend"), data.color, data.stops, note);
  const pager = section.q("pager");
  pager.hidden = data.pages < 2;
  const first = data.page * data.per_page + 1;
  const last = Math.min(count, first + data.per_page - 1);
  const how = data.order === "strength" ? "strongest first" : "by number";
  section.q("page").textContent = `maps ${first}–${last} of ${count} (${how})`;
  section.q("prev").disabled = data.page === 0;
  section.q("next").disabled = data.page >= data.pages - 1;
}

function drawVector(fm, section, data) {
  const grid = section.q("grid");
  grid.classList.add("vector-grid");
  let div = grid.querySelector(".plot");
  if (!div) {
    div = document.createElement("div");
    div.className = "plot vector-plot";
    grid.replaceChildren(div);
  }
  const values = Array.from(data.values);
  const isOutput = fm.labels && values.length === fm.labels.length && section.index === fm.layers.length - 1;
  const x = values.map((_, i) => i);
  const trace = {
    type: "bar",
    x,
    y: values,
    marker: { color: values.map((v) => (v < 0 ? "#2563eb" : "#dc2626")) },
    customdata: values.map((_, i) => (isOutput ? fm.labels[i] : `unit ${i}`)),
    hovertemplate: "%{customdata}: %{y:.4f}<extra></extra>",
  };
  const width = Math.max(320, grid.clientWidth || 900);
  const ticks = isOutput && values.length <= 20
    ? { tickvals: x, ticktext: fm.labels, tickfont: { size: 16 } } : {};
  drawChart(div, [trace], chartLayout(width, VECTOR_HEIGHT, {
    bargap: values.length > 200 ? 0 : 0.15,
    xaxis: { title: { text: isOutput ? "class" : "unit", font: { size: 14 } }, ...ticks },
    margin: { l: 54, r: 10, t: 8, b: 48 },
  })).then(() => {
    if (div.dataset.bound) return;
    div.dataset.bound = "true";
    div.on("plotly_click", (event) => fm.onPick({ layer: section.row.name, index: event.points[0].x }));
  });
  section.q("legend").replaceChildren(); // bars carry their own axis
  section.q("pager").hidden = true;
}

function pickTile(fm, section, event) {
  const tile = event.target.closest(".map-tile");
  if (!tile || !section.data) return;
  const img = tile.querySelector("img");
  const [, height, width] = section.data.shape;
  const box = img.getBoundingClientRect();
  const inside = event.target === img && box.width > 0;
  const row = inside ? Math.floor(((event.clientY - box.top) / box.height) * height) : Math.floor(height / 2);
  const col = inside ? Math.floor(((event.clientX - box.left) / box.width) * width) : Math.floor(width / 2);
  fm.onPick({
    layer: section.row.name,
    channel: Number(tile.dataset.channel),
    row: Math.max(0, Math.min(height - 1, row)),
    col: Math.max(0, Math.min(width - 1, col)),
  });
}

function turn(fm, section, delta) {
  if (!section.data) return;
  section.page = Math.max(0, Math.min(section.data.pages - 1, section.page + delta));
  schedule(fm, section);
}
