// One training run on the server (app/web/api/training.py): start it, follow what it
// records as it learns, cancel it, fetch its result.
//
//   const run = await startRun(settings, { onUpdate: (record) => draw(record), signal });
//   run.info: the 202 answer (config, title, layers, total_steps...); run.record: what it
//   recorded (`history`, `snapshots`, `status`, `progress`); run.result: the finished run.
//
// The event stream carries, with the job's state, the history entries and snapshots
// recorded since the previous event; a dropped connection reconnects by itself and the
// server resumes where it stopped (Last-Event-ID). Aborting `signal` cancels the run on the
// server, and so does leaving the page.

import { ApiError, failure, getJSON, send } from "./api.js";
import { cancelJob } from "./jobs.js";

const following = new Set(); // the URLs of the runs this page follows

window.addEventListener("pagehide", () => {
  for (const url of following) cancelJob(url);
});

function abortError() {
  return new DOMException("The training was cancelled", "AbortError");
}

// The record of a run: what the page draws, filled as events arrive.
function emptyRecord() {
  return { status: "queued", progress: 0, history: [], snapshots: [], result: null };
}

function merge(record, event) {
  record.status = event.status;
  record.progress = event.progress;
  record.error = event.error;
  event.history.forEach((entry, i) => {
    record.history[event.from + i] = entry;
  });
  const firstSnapshot = event.next[1] - event.snapshots.length;
  event.snapshots.forEach((snapshot, i) => {
    record.snapshots[firstSnapshot + i] = snapshot;
  });
}

function follow(info, record, onUpdate, signal) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(info.events);
    const stop = () => {
      source.close();
      if (signal) signal.removeEventListener("abort", abort);
    };
    function abort() {
      stop();
      cancelJob(info.url);
      reject(abortError());
    }
    if (signal) {
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort);
    }
    source.onmessage = (event) => {
      merge(record, JSON.parse(event.data));
      onUpdate(record);
      if (record.status === "done") {
        stop();
        resolve();
      } else if (record.status === "failed") {
        stop();
        reject(new ApiError(422, record.error || "The training failed"));
      } else if (record.status === "cancelled") {
        stop();
        reject(new ApiError(409, "The training was stopped on the server; start it again"));
      }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        stop();
        cancelJob(info.url);
        reject(new ApiError(404, "Lost track of the training on the server; start it again"));
      }
    };
  });
}

// Start a run with `settings` (the API's fields); `onStart(info, record)` once it is
// accepted, `onUpdate(record)` at every event. Resolves with { info, record } once the
// result is in `record.result`; rejects with an ApiError (refused, failed, stopped) or an
// AbortError.
export async function startRun(settings, { onStart, onUpdate, signal } = {}) {
  const response = await send("/api/training/jobs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(settings),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const info = await response.json();
  const record = emptyRecord();
  if (onStart) onStart(info, record);
  following.add(info.url);
  try {
    await follow(info, record, onUpdate || (() => {}), signal);
    record.result = await getJSON(info.result, signal);
    if (onUpdate) onUpdate(record);
  } finally {
    following.delete(info.url);
  }
  return { info, record };
}
