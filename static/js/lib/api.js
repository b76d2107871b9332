// Requests to the app's API. Errors carry the server's `detail` sentence so pages can
// show it as it is; a newer request aborts the older one.
//
// A 503 means the server is busy (its compute queue is full, a lecture hall asking at
// once): every request here waits the `Retry-After` seconds it names (at most
// RETRY_CAP_S) and sends again, up to ATTEMPTS in all, while the page's status line
// (#busy, in base.html) says "The server is busy — retrying in N s…". Aborting the
// request's signal ends the wait at once (an AbortError, as fetch gives). The line hides
// when no request is waiting or retrying any more; a 503 on the last attempt is an
// ApiError like any other failure.

export const ATTEMPTS = 5;
export const RETRY_CAP_S = 10;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// The sentence to show for a failed request: the server's own, or that it was not reached.
export function errorText(error) {
  return error instanceof ApiError ? error.message : `Could not reach the server: ${error.message}`;
}

export async function failure(response) {
  const data = await response.json().catch(() => null);
  return new ApiError(response.status, (data && data.detail) || `The server answered ${response.status}`);
}

export async function postJSON(url, body, signal) {
  const response = await send(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (response.ok) return response.json(); // an abort while reading rejects here, as it should
  throw await failure(response);
}

export async function getJSON(url, signal) {
  const response = await send(url, { signal });
  if (response.ok) return response.json();
  throw await failure(response);
}

// A multipart/form-data POST (the browser writes the boundary).
export async function postForm(url, form, signal) {
  const response = await send(url, { method: "POST", body: form, signal });
  if (response.ok) return response.json();
  throw await failure(response);
}

// An image from the API as a `data:` URL (what Plotly's image trace draws) with its size.
export async function fetchImage(url, signal) {
  const response = await send(url, { signal });
  if (!response.ok) throw await failure(response);
  return loadImage(await blobToDataURL(await response.blob()));
}

// `fetch(url, init)` that waits out 503s (see the top of this file): the last response.
// `init.body` must be sendable twice (a string, FormData or Blob; not a stream).
export async function send(url, init = {}) {
  let retry = null; // this request's entry in the status line, from its first 503 on
  try {
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(url, init);
      if (response.status !== 503 || attempt >= ATTEMPTS) return response;
      const seconds = retryAfter(response);
      await response.arrayBuffer().catch(() => null); // the connection is free for the next
      retry = retry || busy.add();
      await busy.wait(retry, seconds, init.signal);
    }
  } finally {
    if (retry) busy.remove(retry);
  }
}

// Seconds to wait, from a 503's Retry-After (seconds or an HTTP date): 1 to RETRY_CAP_S.
export function retryAfter(response) {
  const value = (response.headers.get("retry-after") || "").trim();
  let seconds = /^\d+$/.test(value) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) seconds = 1;
  return Math.min(RETRY_CAP_S, Math.max(1, seconds));
}

// The status line: one entry per request that met a 503, with when it sends again (`at`,
// null while the retry is on its way). It shows the soonest countdown, and hides when no
// entry is left.
const busy = {
  entries: new Set(),
  timer: null,

  add() {
    const entry = { at: null };
    this.entries.add(entry);
    return entry;
  },

  remove(entry) {
    this.entries.delete(entry);
    this.show();
  },

  wait(entry, seconds, signal) {
    return new Promise((resolve, reject) => {
      const aborted = () => signal.reason ?? new DOMException("The request was aborted", "AbortError");
      if (signal && signal.aborted) return reject(aborted());
      entry.at = performance.now() + seconds * 1000;
      const done = () => {
        clearTimeout(timeout);
        if (signal) signal.removeEventListener("abort", abort);
        entry.at = null;
        this.show();
      };
      const timeout = setTimeout(() => {
        done();
        resolve();
      }, seconds * 1000);
      function abort() {
        done();
        reject(aborted());
      }
      if (signal) signal.addEventListener("abort", abort);
      this.show();
    });
  },

  show() {
    const line = document.getElementById("busy");
    const waits = [...this.entries].map((entry) => entry.at).filter((at) => at !== null);
    if (this.entries.size === 0) {
      clearInterval(this.timer);
      this.timer = null;
      if (line) {
        line.hidden = true;
        line.textContent = "";
      }
      return;
    }
    if (!this.timer) this.timer = setInterval(() => this.show(), 250);
    if (!line) return;
    const text = waits.length
      ? `The server is busy — retrying in ${Math.max(1, Math.ceil((Math.min(...waits) - performance.now()) / 1000))} s…`
      : "The server is busy — retrying…";
    line.hidden = false;
    if (line.textContent !== text) line.textContent = text;
  },
};

export function blobToDataURL(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// { src, width, height } once the browser has decoded the picture.
export function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ src, width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error("the picture could not be read"));
    img.src = src;
  });
}

// Wraps a request function so that starting a new call aborts the previous one;
// `.cancel()` aborts the last one without starting another.
export function latestOnly(request) {
  let controller = null;
  const call = async (...args) => {
    if (controller) controller.abort();
    controller = new AbortController();
    return request(...args, controller.signal);
  };
  call.cancel = () => {
    if (controller) controller.abort();
    controller = null;
  };
  return call;
}
