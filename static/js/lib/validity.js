// Fields whose text is not a value the page can compute with ("abc" for a bias, "x" in a
// cell, two biases for one output channel). Such a field is marked, the page says why, and
// nothing is computed until it is fixed: the screen never shows one number while the
// computation uses another. The picture from before stays, dimmed, under the sentence.
//
//   const validity = createValidity({ stage, box, onValid: () => recompute() });
//   validity.set("bias", field, "Bias: “abc” is not a number");   // or null once it is one
//   if (validity.blocked) return;

export function createValidity({ stage, box, onValid }) {
  const problems = new Map(); // key → { field, message }

  function mark(field, message) {
    if (!field) return;
    field.classList.toggle("invalid", Boolean(message));
    field.setAttribute("aria-invalid", message ? "true" : "false");
    if (message) field.title = message;
    else field.removeAttribute("title");
  }

  function show() {
    const messages = [...problems.values()].map((p) => p.message);
    box.hidden = !messages.length;
    box.dataset.kind = messages.length ? "invalid" : "";
    if (!messages.length) {
      box.textContent = "";
      stage.classList.remove("stale");
      return;
    }
    box.textContent = `Not computed: ${messages.join("; ")}. The picture shows the numbers `
      + "from before; fix the field to compute again.";
    stage.classList.add("stale");
    stage.dataset.state = "invalid";
  }

  return {
    // `message` null: the field is valid again (the page recomputes when none is left).
    set(key, field, message) {
      const had = problems.size > 0;
      if (message) problems.set(key, { field, message });
      else problems.delete(key);
      mark(field, message);
      show();
      if (had && !problems.size) onValid();
    },
    // Forget the problems whose keys start with `prefix` (their fields were drawn again).
    forget(prefix) {
      for (const key of [...problems.keys()]) {
        if (key.startsWith(prefix)) problems.delete(key);
      }
      show();
    },
    get blocked() {
      return problems.size > 0;
    },
  };
}
