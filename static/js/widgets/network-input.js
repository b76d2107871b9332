// The input of a network page: a sample or an upload (the shared image picker, image-picker.js)
// or, for the digit models, a drawing (digit-canvas.js). Whatever it is, the page names it
// by an image id once the server has it; a drawing is sent as a file with the prediction
// request, which answers the id it was kept under (`adopt`).
//
//   const input = createNetworkInput({ pickerRoot, canvas, onChange(final) { ... } });
//   const data = await postForm(url, await input.form());     // the file, or image_id
//   input.adopt(data.image);
//   const maps = await input.withImage((id) => getJSON(`...?image=${id}`));
//
// `onChange(final)`: a new sample or upload (final = true), or the drawing changed
// (final = false while the pen moves, true when it lifts). `onClear()`: the drawing was
// wiped; there is no input (`id` is null) until the next stroke or a sample is picked.
// `withImage` uploads a drawing again when the server has forgotten it (404), as the
// picker does for a file. `lineWidth` sets the pen's width (digit-canvas.js).

import { ApiError, postForm } from "../lib/api.js";
import { createDigitCanvas } from "./digit-canvas.js";
import { createImagePicker } from "./image-picker.js";

const DRAWING = "your drawing";

export function createNetworkInput({
  pickerRoot, canvas = null, onChange, onClear = () => {}, lineWidth = undefined,
}) {
  let drawing = null; // { blob, id } while the drawing is the input
  let cleared = false; // the drawing was wiped: no input until the next stroke
  let version = 0; // increases with every change of the drawing
  let wiped = 0; // the version at the last clear: drawings read before it are dropped

  const picker = createImagePicker(pickerRoot, {
    onChange() {
      drawing = null;
      cleared = false;
      onChange(true);
    },
  });

  const pad = canvas && createDigitCanvas(canvas, {
    lineWidth,
    async onDraw(final) {
      version += 1;
      const mine = version;
      const blob = await pad.toBlob();
      if (mine < wiped) return; // cleared while the drawing was read
      if (mine !== version && !final) return; // a newer drawing is on its way
      drawing = { blob, id: null };
      cleared = false;
      onChange(final);
    },
    onClear() {
      version += 1;
      wiped = version;
      drawing = null;
      cleared = true;
      onClear();
    },
  });

  async function uploadDrawing() {
    const form = new FormData();
    form.append("image", drawing.blob, "drawing.png");
    const info = await postForm("/api/images", form);
    drawing.id = info.id;
    picker.select(info.id, { name: DRAWING, status: "" });
    return info.id;
  }

  return {
    picker,
    pad,
    get isDrawing() { return drawing !== null; },
    get isEmpty() { return cleared; },
    // The current image id (null for a drawing the server has not answered for yet, and
    // after the drawing was cleared).
    get id() {
      if (cleared) return null;
      return drawing ? drawing.id : picker.id;
    },
    select(id) {
      drawing = null;
      cleared = false;
      picker.select(id);
    },
    // The body of a prediction request: the drawing as a file, or the image's id.
    form() {
      const form = new FormData();
      if (drawing) form.append("image", drawing.blob, "drawing.png");
      else form.append("image_id", picker.id);
      return form;
    },
    // The server kept the drawing under `id` (from the prediction's answer).
    adopt(id) {
      if (!drawing) return;
      drawing.id = id;
      picker.select(id, { name: DRAWING, status: "" });
    },
    clearDrawing() {
      if (pad) pad.clear();
    },
    async withImage(request) {
      if (!drawing) return picker.withImage(request);
      const known = drawing;
      try {
        return await request(drawing.id || (await uploadDrawing()));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404 || known !== drawing) throw error;
        return request(await uploadDrawing());
      }
    },
  };
}
