// The lecture's thread: views (any page of the app with its settings, as its URL) lined up
// in the order of a lecture, each with a title. Kept in the browser's storage, so it
// survives a reload and holds on every page; written to a file and read back; packed into
// a link (after `#thread=`, which the browser never sends to the server) that opens the
// first view and hands students the whole thread.
//
//   const thread = loadThread();            // { title, views: [{ title, url }] }
//   saveThread(addView(thread, { title: "Sharpen", url: viewURL() }));
//   window.location.href = presentURL(thread.views[1].url);

const KEY = "convscope.thread";
const AT = "convscope.thread.at"; // the view of the thread last opened from it (this tab)
export const FORMAT = "convscope-thread";
const MAX_VIEWS = 200;
const MAX_TEXT = 200;
const MAX_URL = 20000;

export const emptyThread = () => ({ title: "", views: [] });

// A thread read from a file or a link, checked: only this app's own pages (a path that
// starts with one "/"), titles and URLs of reasonable length. Throws an Error that says
// what is wrong.
export function checkThread(data) {
  if (!data || typeof data !== "object" || !Array.isArray(data.views)) {
    throw new Error("this is not a lecture thread (no list of views)");
  }
  if (data.views.length > MAX_VIEWS) throw new Error(`a thread holds at most ${MAX_VIEWS} views`);
  const views = data.views.map((view, i) => {
    const url = view && typeof view.url === "string" ? view.url : "";
    if (!/^\/(?!\/)/.test(url) || url.length > MAX_URL || /[\s\\]/.test(url)) {
      throw new Error(`view ${i + 1} is not a page of this app`);
    }
    const title = typeof view.title === "string" ? view.title.slice(0, MAX_TEXT) : "";
    return { title: title || url, url };
  });
  const title = typeof data.title === "string" ? data.title.slice(0, MAX_TEXT) : "";
  return { title, views };
}

export function loadThread() {
  try {
    return checkThread(JSON.parse(window.localStorage.getItem(KEY)));
  } catch {
    return emptyThread();
  }
}

export function saveThread(thread) {
  window.localStorage.setItem(KEY, JSON.stringify(checkThread(thread)));
  window.dispatchEvent(new Event("convscope:thread"));
  return thread;
}

// The thread as a file's text, and back.
export function threadFile(thread) {
  return JSON.stringify({ format: FORMAT, version: 1, ...checkThread(thread) }, null, 2);
}

export function readThreadFile(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error("the file is not JSON");
  }
  return checkThread(data);
}

// Base64url of the thread's JSON (UTF-8), for a link, and back.
export function encodeThread(thread) {
  const bytes = new TextEncoder().encode(JSON.stringify(checkThread(thread)));
  let binary = "";
  bytes.forEach((b) => { binary += String.fromCharCode(b); });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeThread(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return checkThread(JSON.parse(new TextDecoder().decode(bytes)));
}

// The link students open: the first view, carrying the thread.
export function threadLink(thread) {
  if (!thread.views.length) return "";
  return `${window.location.origin}${thread.views[0].url}#thread=${encodeThread(thread)}`;
}

// This page's view: its path and query, less presenter mode (a view is shown either way).
export function viewURL(location = window.location) {
  const query = new URLSearchParams(location.search);
  query.delete("present");
  const text = query.toString().replace(/%3A/g, ":").replace(/%2C/g, ",").replace(/%7E/g, "~");
  return `${location.pathname}${text ? `?${text}` : ""}`;
}

export function presentURL(url) {
  return `${url}${url.includes("?") ? "&" : "?"}present=1`;
}

export const sameThread = (a, b) => JSON.stringify(checkThread(a)) === JSON.stringify(checkThread(b));

// Where this page is in the thread: its own view, else the view it was opened as (it may
// have been stepped since), else -1.
export function positionOf(thread) {
  const here = viewURL();
  const exact = thread.views.findIndex((view) => view.url === here);
  if (exact >= 0) return exact;
  const at = Number(window.sessionStorage.getItem(AT));
  const opened = thread.views[at];
  return opened && new URL(opened.url, window.location.origin).pathname === window.location.pathname ? at : -1;
}

// Go to view `index` of the thread (in presenter mode when `present`).
export function openView(thread, index, { present = false } = {}) {
  const view = thread.views[index];
  if (!view) return;
  window.sessionStorage.setItem(AT, String(index));
  window.location.href = present ? presentURL(view.url) : view.url;
}
