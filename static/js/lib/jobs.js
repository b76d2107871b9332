// Long computations the server runs as jobs (app/web/api/jobs.py): start one, follow its
// progress as server-sent events, and cancel it when the user asks or leaves the page.
// Each start gets a ticket of its own (`job.url`): cancelling withdraws this page's claim
// only, and the server stops the computation once nobody else wants it either.
//
//   const job = await startJob(url, { form, onProgress: (fraction, status) => ..., signal });
//   image.src = `${job.result}?format=png`;
//
// Aborting `signal` (a newer request, a Cancel button) cancels the job on the server, and
// so does leaving the page: unless another client shares it, the worker it held is free
// for the next student at once.

import { ApiError, failure, send } from "./api.js";

const running = new Set(); // the URLs of the jobs this page is following

window.addEventListener("pagehide", () => {
  for (const url of running) cancelJob(url);
});

// DELETE a job; `keepalive` lets the request out while the page unloads.
export function cancelJob(url) {
  return fetch(url, { method: "DELETE", keepalive: true }).catch(() => null);
}

function abortError() {
  return new DOMException("The computation was cancelled", "AbortError");
}

// POST to a job-starting endpoint (FormData `form` or JSON `body`); resolves with the
// finished job's snapshot (`result`: where its result is) or rejects with an ApiError
// (the job failed, or the server stopped it) or an AbortError (`signal`).
export async function startJob(url, { form, body, onProgress, signal } = {}) {
  const init = { method: "POST", signal };
  if (form !== undefined) init.body = form;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const response = await send(url, init); // a 503 is waited out, as every request is
  if (!response.ok) throw await failure(response);
  const job = await response.json();
  if (onProgress) onProgress(job.progress, job.status);
  if (job.status === "done") return job; // computed before: answered from the cache
  running.add(job.url);
  try {
    return await follow(job, onProgress, signal);
  } finally {
    running.delete(job.url);
  }
}

function follow(job, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(job.events);
    const stop = () => {
      source.close();
      if (signal) signal.removeEventListener("abort", abort);
    };
    function abort() {
      stop();
      cancelJob(job.url);
      reject(abortError());
    }
    if (signal) {
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort);
    }
    source.onmessage = (event) => {
      const snapshot = JSON.parse(event.data);
      if (onProgress) onProgress(snapshot.progress, snapshot.status);
      if (snapshot.status === "done") {
        stop();
        resolve({ ...job, ...snapshot });
      } else if (snapshot.status === "failed") {
        stop();
        reject(new ApiError(422, snapshot.error || "The computation failed"));
      } else if (snapshot.status === "cancelled") {
        stop();
        reject(new ApiError(409, "The computation was stopped on the server; start it again"));
      }
    };
    source.onerror = () => {
      // A dropped connection reconnects by itself (the server sends the current state);
      // a closed one means the server refused the stream: the job is gone.
      if (source.readyState === EventSource.CLOSED) {
        stop();
        // Also what happens when the page is left: the browser closes the stream before
        // "pagehide", so the job is cancelled here (keepalive) while the page still can.
        cancelJob(job.url);
        reject(new ApiError(404, "Lost track of the computation on the server; start it again"));
      }
    };
  });
}
