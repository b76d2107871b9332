// One cell of the saliency page: the picture the network sees with one method's map for one
// class over it, a colour bar with its numbers, the class and its probability; a progress
// bar and Cancel while the map is computed (a job: jobs.js), and "Export PNG" (the
// composite, drawn on a canvas and downloaded).
//
//   const cell = createCell(title);           // cell.root goes into the grid
//   cell.compute({ key, start(signal, onProgress) → finished job snapshot, photo, name });
//   cell.setOpacity(0.7);
//   cell.cancel();

import { renderLegend } from "../draw/legend.js";
import { ApiError, getJSON } from "../lib/api.js";
import { kindOf, recolor, translate } from "../lib/colormaps.js";
import { element } from "../lib/dom.js";
import { fmt, percent } from "../lib/format.js";

const SMALL = 100; // inputs narrower than this (digits) are drawn with square pixels
const EXPORT_SIDE = 448; // the exported picture's side, in canvas pixels
const EXPORT_BAR = 96; // room under it for the caption and the colour bar

export function createCell(title) {
  const root = element("figure", "sal-cell");
  root.dataset.state = "idle";
  const picture = element("div", "sal-picture");
  const photo = element("img", "sal-photo");
  photo.alt = "The picture the network sees";
  const overlay = element("img", "sal-map");
  overlay.alt = "";
  picture.append(photo, overlay);
  const status = element("div", "sal-status");
  const bar = element("progress", "sal-bar");
  bar.max = 1;
  bar.value = 0;
  const percentText = element("span", "sal-percent");
  const cancelButton = element("button", "sal-cancel", "Cancel");
  cancelButton.type = "button";
  const again = element("button", "sal-again", "Compute again");
  again.type = "button";
  const message = element("p", "sal-message");
  status.append(bar, percentText, cancelButton, message, again);
  const legend = element("div", "legend sal-legend");
  const caption = element("figcaption", "sal-caption");
  const exportButton = element("button", "sal-export", "Export PNG");
  exportButton.type = "button";
  exportButton.disabled = true;
  root.append(picture, status, legend, caption, exportButton);

  let controller = null;
  let request = null; // the last compute() arguments
  let shown = null; // the finished map's description (json)

  function setState(state, text = "") {
    root.dataset.state = state;
    message.textContent = text;
    const running = state === "queued" || state === "running";
    cancelButton.hidden = !running;
    bar.hidden = !running;
    percentText.hidden = !running;
    again.hidden = state !== "cancelled" && state !== "failed";
    exportButton.disabled = state !== "done";
    exportButton.hidden = state !== "done";
  }

  function onProgress(fraction, status) {
    bar.value = fraction;
    percentText.textContent = status === "queued" ? "waiting…" : `${Math.round(fraction * 100)}%`;
    if (root.dataset.state !== status) setState(status);
  }

  function showMap(data) {
    shown = data;
    const shownStops = translate(data.colorscale); // the viewer's colour scheme (lecture.js)
    const stops = { diverging: shownStops, sequential: shownStops };
    const limit = data.limit;
    const color = data.signed
      ? { kind: "diverging", zmin: -limit, zmax: limit }
      : { kind: "sequential", zmin: 0, zmax: limit };
    const clipped = data.range[1] > limit || data.range[0] < (data.signed ? -limit : 0);
    const note = clipped ? `values range from ${fmt(data.range[0], 3)} to ${fmt(data.range[1], 3)}` : "";
    renderLegend(legend, color, stops, note);
    caption.replaceChildren(
      element("strong", "sal-class", data.target.label),
      element("span", "sal-prob", ` ${percent(data.target.probability)}`),
      element("span", "sal-method", ` · ${title}`),
    );
    caption.title = `class ${data.target.index}`;
  }

  async function compute(next) {
    cancel(false);
    request = next;
    const mine = new AbortController();
    controller = mine;
    const small = next.width < SMALL;
    photo.classList.toggle("pixelated", small);
    overlay.classList.toggle("pixelated", small);
    if (photo.getAttribute("src") !== next.photo) {
      photo.src = next.photo;
      overlay.removeAttribute("src"); // another picture's map never lies over this one
    }
    // The caption and colour bar described the map before: gone until the new one comes
    // (a cancelled cell never shows another image's class or colours).
    shown = null;
    legend.replaceChildren();
    caption.replaceChildren(element("span", "sal-method", title));
    caption.removeAttribute("title");
    root.classList.add("stale");
    bar.value = 0;
    percentText.textContent = "waiting…";
    setState("queued");
    try {
      const job = await next.start(mine.signal, onProgress);
      const [data] = await Promise.all([
        getJSON(`${job.result}?format=json`, mine.signal),
        new Promise((resolve, reject) => {
          overlay.onload = resolve;
          overlay.onerror = () => reject(new Error("the map could not be loaded"));
          overlay.src = `${job.result}?format=png`;
        }),
      ]);
      const kind = kindOf(data.colorscale);
      if (kind) {
        const painted = await recolor(overlay.src, kind); // the same URL in standard colours
        if (controller !== mine) return;
        if (painted !== overlay.src) overlay.src = painted;
      }
      if (controller !== mine) return;
      showMap(data);
      root.classList.remove("stale");
      setState("done");
    } catch (error) {
      if (controller !== mine) return; // a newer request replaced this one
      if (mine.signal.aborted) {
        setState("cancelled", "Cancelled.");
      } else if (error instanceof ApiError && error.status === 409) {
        setState("cancelled", "Cancelled.");
      } else {
        setState("failed", error.message);
      }
    }
  }

  // Stop the computation (its job is cancelled on the server unless someone else wants it).
  function cancel(show = true) {
    if (!controller) return;
    const running = controller;
    controller = null;
    running.abort();
    if (show && root.dataset.state !== "done") setState("cancelled", "Cancelled.");
  }

  cancelButton.addEventListener("click", () => cancel());
  again.addEventListener("click", () => { if (request) compute(request); });
  exportButton.addEventListener("click", () => exportPNG());

  function setOpacity(value) {
    overlay.style.opacity = String(value);
    root.dataset.opacity = String(value);
  }

  // The composite as it is seen: the picture, the map at the current opacity, the caption
  // and the colour bar with its numbers, downloaded as a PNG file.
  function exportPNG() {
    if (!shown) return;
    const canvas = document.createElement("canvas");
    canvas.width = EXPORT_SIDE;
    canvas.height = EXPORT_SIDE + EXPORT_BAR;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = !photo.classList.contains("pixelated");
    ctx.drawImage(photo, 0, 0, EXPORT_SIDE, EXPORT_SIDE);
    ctx.globalAlpha = Number(overlay.style.opacity || 1);
    ctx.drawImage(overlay, 0, 0, EXPORT_SIDE, EXPORT_SIDE);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#0f172a";
    ctx.font = "bold 20px sans-serif";
    ctx.fillText(`${shown.target.label} ${percent(shown.target.probability)} · ${title}`, 8, EXPORT_SIDE + 26);
    const grad = ctx.createLinearGradient(8, 0, EXPORT_SIDE - 8, 0);
    for (const [at, colour] of translate(shown.colorscale)) grad.addColorStop(at, colour);
    ctx.fillStyle = grad;
    ctx.fillRect(8, EXPORT_SIDE + 40, EXPORT_SIDE - 16, 18);
    ctx.fillStyle = "#475569";
    ctx.font = "15px monospace";
    const low = shown.signed ? -shown.limit : 0;
    ctx.textAlign = "left";
    ctx.fillText(fmt(low, 3), 8, EXPORT_SIDE + 78);
    ctx.textAlign = "right";
    ctx.fillText(fmt(shown.limit, 3), EXPORT_SIDE - 8, EXPORT_SIDE + 78);
    if (shown.signed) {
      ctx.textAlign = "center";
      ctx.fillText("0", EXPORT_SIDE / 2, EXPORT_SIDE + 78);
    }
    // Synchronous (a data: URL, not toBlob), so the download starts within the click: a
    // busy machine cannot make it lose the click's user activation.
    const link = document.createElement("a");
    link.href = canvas.toDataURL("image/png");
    link.download = `${request.name}-${shown.method}-${shown.target.label.replace(/\W+/g, "_")}.png`;
    document.body.append(link);
    link.click();
    link.remove();
  }

  setState("idle");
  return { root, compute, cancel, setOpacity, exportPNG, get data() { return shown; } };
}
