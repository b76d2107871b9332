// A layer's gallery of filters: the server's atlas (one pixel per weight, 1-pixel gaps)
// scaled up pixelated so it reads on a projector, a click mapped back to a filter with the
// layout the server sends (GET /api/models/{name}/filters/{layer}), and the chosen filter
// outlined.
//
//   const gallery = createGallery({ frame, img, mark, sliceMark, scroll }, { onPick });
//   await gallery.show(layout);            // layout.png: the atlas's URL
//   gallery.select(filter, channel);       // outline a filter (and one input channel)
//
// `onPick(filter, channel)`: a click on filter `filter` (its index in the layer), and for
// layers drawn with one tile per input channel (`channels`, `pointwise`), the channel.

const MAX_SCALE = 24; // screen pixels per weight, at most
const MIN_SCALE = 2;

const TALL = 2.5; // a gallery may be this many boxes tall (it scrolls) before tiles shrink

// Screen pixels per weight: as wide as the box allows, unless that makes the gallery more
// than TALL boxes high; never below MIN_SCALE (then it scrolls).
function scaleFor(width, height, box) {
  const fit = Math.min(box.width / width, (TALL * box.height) / height);
  return Math.max(MIN_SCALE, Math.min(MAX_SCALE, Math.floor(fit)));
}

// Atlas size in weights: tiles and gaps.
function atlasSize(layout) {
  const [th, tw] = layout.tile;
  const { gap } = layout;
  return {
    width: layout.columns * (tw + gap) - gap,
    height: layout.rows * (th + gap) - gap,
  };
}

// The tile under atlas pixel (x, y): { filter, channel } or null (a gap, or past the end).
export function tileAt(layout, x, y) {
  const [th, tw] = layout.tile;
  const { gap, order } = layout;
  const kind = layout.layer.kind;
  if (kind === "pointwise") {
    if (y < 0 || y >= th || x < 0 || x >= tw) return null;
    return { filter: order[y], channel: x };
  }
  const col = Math.floor(x / (tw + gap));
  const row = Math.floor(y / (th + gap));
  if (x - col * (tw + gap) >= tw || y - row * (th + gap) >= th) return null; // a gap
  if (row < 0 || row >= layout.rows || col < 0 || col >= layout.columns) return null;
  if (kind === "channels") return { filter: order[row], channel: col };
  const position = row * layout.columns + col;
  return position < order.length ? { filter: order[position], channel: null } : null;
}

// Where filter `filter` (and input channel `channel`) is, in atlas pixels.
export function tileBox(layout, filter, channel = null) {
  const [th, tw] = layout.tile;
  const { gap } = layout;
  const position = layout.order.indexOf(filter);
  if (position < 0) return null;
  const kind = layout.layer.kind;
  if (kind === "pointwise") {
    const row = { top: position, left: 0, height: 1, width: tw };
    return { tile: row, slice: channel === null ? null : { top: position, left: channel, height: 1, width: 1 } };
  }
  if (kind === "channels") {
    const top = position * (th + gap);
    const row = { top, left: 0, height: th, width: layout.columns * (tw + gap) - gap };
    const slice = channel === null ? null : { top, left: channel * (tw + gap), height: th, width: tw };
    return { tile: row, slice };
  }
  const row = Math.floor(position / layout.columns);
  const col = position % layout.columns;
  return { tile: { top: row * (th + gap), left: col * (tw + gap), height: th, width: tw }, slice: null };
}

export function createGallery({ frame, img, mark, sliceMark, scroll }, { onPick }) {
  let layout = null;
  let scale = 1;

  function place(element, box) {
    element.hidden = !box;
    if (!box) return;
    const pad = 3; // the outline sits just outside the tile
    element.style.left = `${box.left * scale - pad}px`;
    element.style.top = `${box.top * scale - pad}px`;
    element.style.width = `${box.width * scale + 2 * pad}px`;
    element.style.height = `${box.height * scale + 2 * pad}px`;
  }

  function select(filter, channel = null) {
    const found = layout && filter !== null ? tileBox(layout, filter, channel) : null;
    place(mark, found && found.tile);
    place(sliceMark, found && found.slice);
    if (found) {
      const { top, height } = found.tile;
      const y = top * scale;
      if (y < scroll.scrollTop || y + height * scale > scroll.scrollTop + scroll.clientHeight) {
        scroll.scrollTop = Math.max(0, y - scroll.clientHeight / 3);
      }
    }
  }

  async function show(next) {
    const size = atlasSize(next);
    const box = { width: scroll.clientWidth - 8, height: Math.max(320, window.innerHeight * 0.6) };
    scale = scaleFor(size.width, size.height, box);
    await new Promise((resolve, reject) => {
      img.onload = resolve;
      img.onerror = () => reject(new Error("the gallery picture could not be loaded"));
      img.src = next.png;
    });
    layout = next;
    img.width = size.width * scale;
    img.height = size.height * scale;
    frame.style.width = `${img.width}px`;
    frame.dataset.scale = String(scale);
  }

  img.addEventListener("click", (event) => {
    if (!layout) return;
    const rect = img.getBoundingClientRect();
    const x = Math.floor(((event.clientX - rect.left) / rect.width) * img.naturalWidth);
    const y = Math.floor(((event.clientY - rect.top) / rect.height) * img.naturalHeight);
    const found = tileAt(layout, x, y);
    if (found) onPick(found.filter, found.channel);
  });

  return { show, select, get layout() { return layout; }, get scale() { return scale; } };
}
