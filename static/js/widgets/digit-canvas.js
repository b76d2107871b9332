// A canvas to draw a digit on with the mouse, a finger or a pen (pointer events), white ink
// on black like MNIST's digits. The server prepares the drawing exactly as the training
// digits were (app/nets/preprocess.py: scaled to fit 20×20, centred in 28×28), so the
// canvas only has to send what was drawn, as a PNG.
//
//   const pad = createDigitCanvas(canvas, { onDraw(done) { send(await pad.toBlob()); } });
//   pad.clear();
//
// While a stroke goes on, `onDraw(false)` is called at most every THROTTLE_MS; when the pen
// lifts, `onDraw(true)`; never for a canvas with no ink on it, which the server would refuse
// as empty ("there is no digit in it"). `onClear()` after clear(). `lineWidth`: the pen's
// width as a fraction of the canvas side (default LINE_WIDTH, one digit filling the canvas).

const INK = "#ffffff";
const PAPER = "#000000";
const LINE_WIDTH = 0.08; // of the canvas side: MNIST strokes are about 2 of 28 pixels
const THROTTLE_MS = 120;

export function createDigitCanvas(canvas, { onDraw, onClear = () => {}, lineWidth = LINE_WIDTH }) {
  const context = canvas.getContext("2d", { willReadFrequently: true }); // hasInk() reads it
  let drawing = false;
  let empty = true;
  let last = null;
  let lastSent = 0;
  let timer = null;

  function paper() {
    context.fillStyle = PAPER;
    context.fillRect(0, 0, canvas.width, canvas.height);
  }

  // The pointer's position in canvas pixels (the canvas may be shown at another size).
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * canvas.width,
      y: ((event.clientY - box.top) / box.height) * canvas.height,
    };
  }

  // A dot where the pen touches down: a zero-length stroke draws nothing in some browsers.
  function dot(at) {
    context.fillStyle = INK;
    context.beginPath();
    context.arc(at.x, at.y, (lineWidth * canvas.width) / 2, 0, 2 * Math.PI);
    context.fill();
  }

  function segment(from, to) {
    context.strokeStyle = INK;
    context.lineWidth = lineWidth * canvas.width;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
  }

  // Whether any pixel holds ink: what the server checks before it classifies a drawing.
  function hasInk() {
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] || data[i + 1] || data[i + 2]) return true;
    }
    return false;
  }

  function send(final) {
    lastSent = performance.now();
    if (hasInk()) onDraw(final);
  }

  function changed() {
    empty = false;
    canvas.dataset.state = "drawn";
    clearTimeout(timer);
    if (performance.now() - lastSent >= THROTTLE_MS) send(false);
    else timer = setTimeout(() => send(false), THROTTLE_MS);
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    dot(last);
    changed();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      const next = point(e);
      segment(last, next);
      last = next;
    }
    changed();
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    clearTimeout(timer);
    send(true);
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  paper();
  canvas.dataset.state = "empty";

  return {
    get empty() { return empty; },
    clear() {
      clearTimeout(timer);
      paper();
      empty = true;
      canvas.dataset.state = "empty";
      onClear();
    },
    // The drawing as a PNG file (what `POST /api/models/{name}/predict` takes).
    toBlob() {
      return new Promise((resolve, reject) => {
        canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the drawing could not be read"))), "image/png");
      });
    },
  };
}
