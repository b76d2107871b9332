// The step-through control bar shared by every step-by-step page: play/pause, step, first,
// last, a scrubber and a speed menu, plus the keyboard (→ ← space Home End).
//
//   const stepper = createStepper(rootElement, { onStep(index, byUser) { draw(index); } });
//   stepper.setCount(steps.length, startIndex);
//
// `byUser` is true for a step asked for (a button, a key, the scrubber, playing, `go`) and
// false when `setCount` draws the start: a page that links two steppers follows the first.
//
// Playing advances on animation frames; when several steps fall due in one frame, only the
// last is drawn, so high speeds stay smooth on large inputs.
//
// A page may hold several steppers (two views side by side): the keyboard drives the one
// used last, marked with data-active="true"; at first, the first one created.

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA"]);
const KEYS = { ArrowRight: "next", ArrowLeft: "prev", Home: "first", End: "last", " ": "play" };

let active = null; // the stepper the keyboard drives

function activate(stepper) {
  if (active) active.root.dataset.active = "false";
  active = stepper;
  active.root.dataset.active = "true";
}

// A menu that has the focus (an example just chosen) keeps ↑ ↓ to change its value; ← →
// step, as everywhere else, instead of choosing another example.
function typing(event) {
  const { tagName } = event.target;
  if (tagName === "SELECT") return event.key !== "ArrowLeft" && event.key !== "ArrowRight";
  return TYPING.has(tagName) || event.target.isContentEditable;
}

function onKey(event) {
  if (!active || event.altKey || event.ctrlKey || event.metaKey || typing(event)) return;
  const key = KEYS[event.key];
  if (!key || !active.total) return;
  if (key === "play" && event.target.tagName === "BUTTON") return; // the button's own click
  event.preventDefault();
  active.actions[key]();
}

export function createStepper(root, { onStep }) {
  const q = (selector) => root.querySelector(selector);
  const playButton = q('[data-action="play"]');
  const scrub = q('[data-role="scrub"]');
  const count = q('[data-role="count"]');
  const speed = q('[data-role="speed"]');
  let total = 0;
  let index = 0;
  let frame = null;
  let carried = 0;
  let last = 0;

  function show() {
    scrub.max = String(Math.max(0, total - 1));
    scrub.value = String(index);
    count.textContent = total ? `Step ${index + 1} of ${total}` : "No steps";
    root.dataset.index = String(index);
    root.dataset.total = String(total);
  }

  function go(target, byUser = true) {
    if (!total) return;
    index = Math.max(0, Math.min(total - 1, target));
    show();
    onStep(index, byUser);
  }

  function setPlaying(playing) {
    root.dataset.playing = playing ? "true" : "false";
    playButton.textContent = playing ? "❚❚ Pause" : "▶ Play";
    playButton.setAttribute("aria-label", playing ? "Pause" : "Play");
  }

  function tick(now) {
    carried += ((now - last) / 1000) * Number(speed.value);
    last = now;
    const advance = Math.floor(carried);
    if (advance > 0) {
      carried -= advance;
      go(index + advance);
      if (index >= total - 1) {
        pause();
        return;
      }
    }
    frame = requestAnimationFrame(tick);
  }

  function play() {
    if (frame !== null || total < 2) return;
    if (index >= total - 1) go(0);
    carried = 1; // the first step comes at once
    last = performance.now();
    setPlaying(true);
    frame = requestAnimationFrame(tick);
  }

  function pause() {
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    setPlaying(false);
  }

  const actions = {
    first: () => { pause(); go(0); },
    prev: () => { pause(); go(index - 1); },
    next: () => { pause(); go(index + 1); },
    last: () => { pause(); go(total - 1); },
    play: () => (frame === null ? play() : pause()),
  };

  const stepper = {
    root,
    actions,
    setCount(n, at = 0) {
      pause();
      total = n;
      index = Math.max(0, Math.min(Math.max(0, n - 1), at));
      show();
      if (total) onStep(index, false);
    },
    go,
    play,
    pause,
    get index() { return index; },
    get total() { return total; },
  };

  root.addEventListener("click", (event) => {
    activate(stepper);
    const button = event.target.closest("[data-action]");
    if (button && actions[button.dataset.action]) actions[button.dataset.action]();
  });
  scrub.addEventListener("input", () => { activate(stepper); pause(); go(Number(scrub.value)); });

  if (active === null) {
    document.addEventListener("keydown", onKey);
    activate(stepper);
  } else {
    root.dataset.active = "false";
  }
  setPlaying(false);
  show();
  return stepper;
}
