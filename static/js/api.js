// JSON requests to the app's API. Errors carry the server's `detail` sentence so pages can
// show it as it is; a newer request aborts the older one.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export async function postJSON(url, body, signal) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (response.ok) return response.json(); // an abort while reading rejects here, as it should
  const data = await response.json().catch(() => null);
  throw new ApiError(response.status, (data && data.detail) || `The server answered ${response.status}`);
}

// Wraps a request function so that starting a new call aborts the previous one.
export function latestOnly(request) {
  let controller = null;
  return async (...args) => {
    if (controller) controller.abort();
    controller = new AbortController();
    return request(...args, controller.signal);
  };
}
