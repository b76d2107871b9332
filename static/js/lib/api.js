// Requests to the app's API. Errors carry the server's `detail` sentence so pages can
// show it as it is; a newer request aborts the older one.

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
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (response.ok) return response.json(); // an abort while reading rejects here, as it should
  throw await failure(response);
}

export async function getJSON(url, signal) {
  const response = await fetch(url, { signal });
  if (response.ok) return response.json();
  throw await failure(response);
}

// A multipart/form-data POST (the browser writes the boundary).
export async function postForm(url, form, signal) {
  const response = await fetch(url, { method: "POST", body: form, signal });
  if (response.ok) return response.json();
  throw await failure(response);
}

// An image from the API as a `data:` URL (what Plotly's image trace draws) with its size.
export async function fetchImage(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw await failure(response);
  return loadImage(await blobToDataURL(await response.blob()));
}

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
