// The lecture's thread in its dialog (templates/_lecture.html): add this page's view with a
// title, retitle, reorder, open or remove views, present from the start, export the thread
// as a file and import one, and the link for students. A link with `#thread=` (a student
// opening the lecturer's link) brings its thread: taken at once when there is none here,
// else offered beside the one kept. The presenter bar says where this page is in the
// thread and steps along it (PageDown, PageUp: lecture.js).
//
//   const panel = createThreadPanel();
//   panel.step(1);     // the next view of the thread

import { $, element } from "../lib/dom.js";
import { flushParams } from "../lib/urlstate.js";
import {
  decodeThread, emptyThread, loadThread, openView, positionOf, readThreadFile, sameThread,
  saveThread, threadFile, threadLink, viewURL,
} from "../lib/thread.js";

const FILE_NAME = "lecture-thread.json";

function pageTitle() {
  const heading = document.querySelector("main h1");
  return (heading ? heading.textContent : document.title).trim().replace(/\s+/g, " ");
}

function say(text) {
  $("thread-status").textContent = text;
}

// ---------------------------------------------------------------- the list of views

function viewItem(thread, view, i) {
  const item = element("li", "thread-view");
  item.dataset.index = String(i);
  if (i === positionOf(thread)) item.setAttribute("aria-current", "true");
  const title = element("input", "view-title");
  title.type = "text";
  title.value = view.title;
  title.setAttribute("aria-label", `Title of view ${i + 1}`);
  title.addEventListener("change", () => update((t) => { t.views[i].title = title.value.trim() || view.url; }));
  const where = element("span", "hint view-url", view.url.length > 80 ? `${view.url.slice(0, 77)}…` : view.url);
  const button = (text, label, action) => {
    const b = element("button", "", text);
    b.type = "button";
    b.setAttribute("aria-label", `${label} view ${i + 1}`);
    b.addEventListener("click", action);
    return b;
  };
  const last = thread.views.length - 1;
  const actions = element("span", "view-actions");
  actions.append(
    button("Open", "Open", () => openView(thread, i)),
    button("↑", "Move up", () => update((t) => swap(t, i, i - 1))),
    button("↓", "Move down", () => update((t) => swap(t, i, i + 1))),
    button("✕", "Remove", () => update((t) => { t.views.splice(i, 1); })),
  );
  actions.children[1].disabled = i === 0;
  actions.children[2].disabled = i === last;
  item.append(title, actions, where);
  return item;
}

function swap(thread, i, j) {
  [thread.views[i], thread.views[j]] = [thread.views[j], thread.views[i]];
}

// Change the stored thread with `edit(thread)`, then show it again.
function update(edit) {
  const thread = loadThread();
  edit(thread);
  saveThread(thread);
  render();
}

function render() {
  const thread = loadThread();
  $("thread-views").replaceChildren(...thread.views.map((view, i) => viewItem(thread, view, i)));
  $("thread-empty").hidden = thread.views.length > 0;
  if (document.activeElement !== $("thread-name")) $("thread-name").value = thread.title;
  $("thread-link").value = threadLink(thread);
  for (const id of ["thread-start", "thread-export", "thread-clear"]) $(id).disabled = !thread.views.length;
  $("thread-count").textContent = thread.views.length ? String(thread.views.length) : "";
  showWhere(thread);
}

// ---------------------------------------------------------------- where this page is

function showWhere(thread) {
  const at = positionOf(thread);
  const n = thread.views.length;
  const bar = $("presenter-bar");
  bar.dataset.thread = n ? "yes" : "no";
  $("thread-where").textContent = !n ? "" : (at >= 0
    ? `${at + 1} / ${n} · ${thread.views[at].title}` : `not in the thread (${n} views)`);
  $("thread-prev").disabled = !n || at === 0;
  $("thread-next").disabled = !n || at === n - 1;
}

// The view `delta` away in the thread (the first one when this page is not in it).
function step(delta) {
  const thread = loadThread();
  if (!thread.views.length) return;
  const at = positionOf(thread);
  const next = at < 0 ? 0 : at + delta;
  if (next >= 0 && next < thread.views.length) {
    openView(thread, next, { present: document.body.classList.contains("presenting") });
  }
}

// ---------------------------------------------------------------- files and links

function exportFile() {
  const thread = loadThread();
  const link = document.createElement("a");
  link.href = `data:application/json;charset=utf-8,${encodeURIComponent(threadFile(thread))}`;
  link.download = FILE_NAME;
  document.body.append(link);
  link.click();
  link.remove();
  say(`Exported ${thread.views.length} views as ${FILE_NAME}.`);
}

async function importFile(file) {
  try {
    const thread = readThreadFile(await file.text());
    saveThread(thread);
    say(`Imported ${thread.views.length} views from ${file.name}.`);
  } catch (error) {
    say(`${file.name} could not be imported: ${error.message}.`);
  }
  render();
}

// A thread in the page's link (#thread=...): taken when there is none here (or the same),
// else offered.
function fromLink() {
  const match = /(?:^#|&)thread=([\w-]+)/.exec(window.location.hash);
  if (!match) return;
  window.history.replaceState(window.history.state, "", `${window.location.pathname}${window.location.search}`);
  let offered;
  try {
    offered = decodeThread(match[1]);
  } catch {
    return;
  }
  const mine = loadThread();
  window.sessionStorage.setItem("convscope.thread.at", "0");
  if (!mine.views.length || sameThread(mine, offered)) {
    saveThread(offered);
    return;
  }
  const name = offered.title ? `“${offered.title}”` : "a lecture thread";
  $("thread-offer-text").textContent = `This link brings ${name} (${offered.views.length} views).`;
  $("thread-offer").hidden = false;
  $("thread-offer-use").onclick = () => {
    saveThread(offered);
    $("thread-offer").hidden = true;
    render();
  };
  $("thread-offer-keep").onclick = () => { $("thread-offer").hidden = true; };
}

// ---------------------------------------------------------------- the dialog

function bind(dialog) {
  $("thread-open").addEventListener("click", () => {
    render();
    $("view-title").value = pageTitle();
    dialog.showModal();
  });
  $("thread-add").addEventListener("click", () => {
    flushParams(); // the URL as the page shows it now
    const title = $("view-title").value.trim() || pageTitle();
    update((thread) => { thread.views.push({ title, url: viewURL() }); });
    say(`Added “${title}” as view ${loadThread().views.length}.`);
  });
  $("thread-name").addEventListener("change", () => update((t) => { t.title = $("thread-name").value.trim(); }));
  $("thread-start").addEventListener("click", () => openView(loadThread(), 0, { present: true }));
  $("thread-export").addEventListener("click", exportFile);
  $("thread-import").addEventListener("change", (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) importFile(file);
  });
  $("thread-clear").addEventListener("click", () => {
    saveThread(emptyThread());
    render();
    say("The thread is empty.");
  });
  $("thread-link").addEventListener("focus", (event) => event.target.select());
  $("thread-prev").addEventListener("click", () => step(-1));
  $("thread-next").addEventListener("click", () => step(1));
  window.addEventListener("storage", render); // another tab changed it
}

export function createThreadPanel() {
  fromLink();
  bind($("thread-dialog"));
  render();
  return { step, render };
}
