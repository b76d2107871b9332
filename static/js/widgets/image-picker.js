// The image picker shared by every page that works on a photo: a menu of the shipped samples
// and uploads by file picker, drag and drop (anywhere on the page) and paste. A file is sent
// once (POST /api/images) and named by its id from then on; the file is kept, so that when
// the server has forgotten the id (404) `withImage` uploads it again and retries.
//
//   const picker = createImagePicker(root, { onChange(id, info) { draw(id); } });
//   picker.select("sample-chelsea");
//   const data = await picker.withImage((id) => postJSON("/api/kernels", { image: id }));

import { ApiError, postForm } from "../lib/api.js";
import { bytesText } from "../lib/format.js";

const SAMPLE_PREFIX = "sample-";

export function createImagePicker(root, { onChange }) {
  const q = (role) => root.querySelector(`[data-role="${role}"]`);
  const menu = q("sample");
  const input = q("file");
  const zone = q("drop");
  const status = q("status");
  const credit = q("credit");
  const uploaded = q("uploaded");
  const maxBytes = Number(root.dataset.maxBytes) || Infinity;
  let current = { id: null, file: null, name: "" };

  function setStatus(text, state) {
    status.textContent = text;
    root.dataset.state = state;
  }

  function showSelection() {
    const isSample = current.id && current.id.startsWith(SAMPLE_PREFIX);
    uploaded.hidden = isSample;
    uploaded.disabled = isSample;
    if (!isSample) uploaded.textContent = current.name ? `Your image: ${current.name}` : "Your image";
    menu.value = isSample ? current.id : "upload";
    const option = menu.selectedOptions[0];
    credit.textContent = isSample && option ? `${option.textContent}: ${option.dataset.credit}` : "";
  }

  async function send(file) {
    const form = new FormData();
    form.append("image", file, file.name || "pasted-image.png");
    return postForm("/api/images", form);
  }

  function describe(info) {
    const kind = info.channels === 1 ? "gray, one channel" : "RGB, three channels";
    const notes = [];
    if (info.source_mode !== "RGB" && info.source_mode !== "L") notes.push(`${info.source_mode} converted`);
    if (info.oriented) notes.push("turned upright from its EXIF orientation");
    const extra = notes.length ? `; ${notes.join(", ")}` : "";
    return `${info.width} × ${info.height} pixels, ${kind} (${info.format}${extra})`;
  }

  async function upload(file) {
    const name = file.name || "pasted image";
    if (file.size > maxBytes) {
      setStatus(`${name} is ${bytesText(file.size)}: the limit is ${bytesText(maxBytes)}.`, "error");
      return;
    }
    setStatus(`Uploading ${name} (${bytesText(file.size)})…`, "uploading");
    let info;
    try {
      info = await send(file);
    } catch (error) {
      setStatus(error instanceof ApiError ? error.message : `Could not upload: ${error.message}`, "error");
      return;
    }
    current = { id: info.id, file, name };
    setStatus(`${name}: ${describe(info)}`, "ready");
    showSelection();
    onChange(info.id, info);
  }

  // Show `id` (a sample id, or an upload id from the URL) without telling the page; `name`
  // says what an upload is (e.g. "your drawing"), and `status` replaces the status line.
  function select(id, { name = "", status = null } = {}) {
    if (id !== current.id) current = { id, file: null, name };
    if (id.startsWith(SAMPLE_PREFIX)) setStatus("", "ready");
    if (status !== null) setStatus(status, "ready");
    showSelection();
  }

  async function withImage(request) {
    try {
      return await request(current.id);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404 || !current.file) throw error;
      setStatus(`The server no longer had ${current.name}: uploading it again…`, "uploading");
      const info = await send(current.file);
      current = { ...current, id: info.id };
      setStatus(`${current.name}: ${describe(info)}`, "ready");
      return request(current.id);
    }
  }

  function firstImage(files) {
    return [...(files || [])].find((file) => file.type.startsWith("image/") || !file.type) || null;
  }

  menu.addEventListener("change", () => {
    if (menu.value === "upload") return;
    select(menu.value);
    onChange(menu.value, null);
  });
  input.addEventListener("change", () => {
    if (input.files[0]) upload(input.files[0]);
    input.value = "";
  });
  const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (file) upload(file);
  });
  document.addEventListener("paste", (event) => {
    const file = firstImage(event.clipboardData && event.clipboardData.files);
    if (!file) return; // text pastes go where they were meant to
    event.preventDefault();
    upload(file);
  });

  return {
    get id() { return current.id; },
    select,
    upload,
    withImage,
  };
}
