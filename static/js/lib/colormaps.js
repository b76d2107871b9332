// The colour maps every figure is drawn with, in two schemes the viewer chooses (stored in
// the browser, so it holds on every page): "standard" (blue–white–red around zero, white to
// blue from zero, black–red–yellow–white for saliency: the server's own, app/images/
// colormaps.py) and "safe", for colour-blind viewers (purple–white–orange around zero,
// viridis from zero and for saliency; no red against green, and lightness that rises
// steadily, so it also survives a gray printout).
//
// Feature maps and filter galleries are painted by the server in the scheme a page asks
// for (`colors=${schemeName()}`, the same stops: app/images/colormaps.py). Saliency maps
// come in the standard stops; `recolor` paints them in the chosen scheme, and `translate`
// gives the stops a colour bar should show. `palette(stops)` is the server's 256-level
// table, computed the same way.

const KEY = "convscope.colours";

export const SCHEMES = {
  standard: {
    title: "Standard",
    diverging: [[0, "#2563eb"], [0.25, "#93c5fd"], [0.5, "#ffffff"], [0.75, "#fca5a5"], [1, "#dc2626"]],
    sequential: [[0, "#ffffff"], [1, "#1d4ed8"]],
    hot: [[0, "#000000"], [0.3, "#e60000"], [0.6, "#ffd200"], [1, "#ffffff"]],
    // over white ink on black (a digit): the map must not end in the ink's colour (the
    // server's HOT_ON_INK, app/images/colormaps.py)
    ink: [[0, "#000000"], [0.35, "#1d4ed8"], [0.7, "#e11d48"], [1, "#c026d3"]],
  },
  safe: {
    title: "Colour-blind safe",
    diverging: [[0, "#5e3c99"], [0.25, "#b2abd2"], [0.5, "#f7f7f7"], [0.75, "#fdb863"], [1, "#e66101"]],
    sequential: [[0, "#fde725"], [0.25, "#5ec962"], [0.5, "#21918c"], [0.75, "#3b528b"], [1, "#440154"]],
    hot: [[0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1, "#fde725"]],
    ink: [[0, "#0d0887"], [0.5, "#cc4778"], [1, "#f89540"]],
  },
};

export function schemeName() {
  try {
    const name = window.localStorage.getItem(KEY);
    return SCHEMES[name] ? name : "standard";
  } catch {
    return "standard"; // storage refused (a private window): the default
  }
}

export function setScheme(name) {
  window.localStorage.setItem(KEY, SCHEMES[name] ? name : "standard");
}

export const scheme = () => SCHEMES[schemeName()];

const same = (a, b) => JSON.stringify(a.map(([p, c]) => [Number(p), String(c).toLowerCase()]))
  === JSON.stringify(b.map(([p, c]) => [Number(p), String(c).toLowerCase()]));

// Which of the standard maps `stops` are ("diverging", "sequential", "hot", "ink"), or null.
export function kindOf(stops) {
  const standard = SCHEMES.standard;
  return ["diverging", "sequential", "hot", "ink"].find((kind) => same(stops, standard[kind])) || null;
}

// The stops to draw in place of the standard `stops` (others are kept as they are).
export function translate(stops) {
  const kind = kindOf(stops);
  return kind ? scheme()[kind] : stops;
}

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

// (256 × [r, g, b]): the scale at 256 evenly spaced levels, interpolated linearly in RGB and
// rounded, as the server's palette() does.
export function palette(stops) {
  const table = [];
  for (let level = 0; level < 256; level += 1) {
    const x = level / 255;
    let k = 0;
    while (k < stops.length - 2 && x > stops[k + 1][0]) k += 1;
    const [p0, c0] = stops[k];
    const [p1, c1] = stops[k + 1];
    const t = p1 > p0 ? Math.min(1, Math.max(0, (x - p0) / (p1 - p0))) : 0;
    const [a, b] = [rgb(c0), rgb(c1)];
    table.push(a.map((v, i) => Math.round(v + (b[i] - v) * t)));
  }
  return table;
}

// `src` (a picture whose coloured pixels are on the standard `kind` map) painted on the
// chosen scheme's map: each pixel of the standard palette takes the same level of the new
// one; other pixels (gaps, borders) stay. Resolves with a data: URL (the same `src` when the
// scheme is the standard one).
export async function recolor(src, kind) {
  if (schemeName() === "standard" || !SCHEMES.standard[kind]) return src;
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const from = new Map(palette(SCHEMES.standard[kind]).map(([r, g, b], level) => [(r << 16) | (g << 8) | b, level]));
  const to = palette(scheme()[kind]);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const level = from.get((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    if (level !== undefined) [data[i], data[i + 1], data[i + 2]] = to[level];
  }
  context.putImageData(pixels, 0, 0);
  return canvas.toDataURL("image/png");
}
