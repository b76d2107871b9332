// A box to pick a class by typing its name: suggestions come from
// GET /api/models/{name}/classes?q= (so "dog" finds the ImageNet dogs), ordered by how well
// they match, then by the image's probability; pressing Enter or leaving the box picks the
// class whose label was typed, else the best suggestion.
//
//   const box = createClassBox(input, { list, found, model, probability(index), onPick(cls) });
//   box.show(cls);           // cls = { index, label }: what the box says, without onPick

import { getJSON } from "../lib/api.js";
import { percent } from "../lib/format.js";

const DELAY_MS = 150;

export function createClassBox(input, { list, found, model, probability, onPick }) {
  let timer = null;
  let shownIndex = null;

  async function search(text) {
    const url = `/api/models/${model}/classes?q=${encodeURIComponent(text)}&limit=200`;
    const data = await getJSON(url);
    return data.classes
      .map((cls, order) => ({ ...cls, order, p: probability(cls.index) }))
      .sort((a, b) => a.rank - b.rank || b.p - a.p || a.order - b.order);
  }

  function suggest(classes) {
    list.replaceChildren(...classes.map((cls) => {
      const option = document.createElement("option");
      option.value = cls.label;
      option.label = `class ${cls.index} · ${percent(cls.p)}`;
      return option;
    }));
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) return;
    timer = setTimeout(() => search(text).then(suggest).catch(() => suggest([])), DELAY_MS);
  });

  async function commit() {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) return;
    let classes;
    try {
      classes = await search(text);
    } catch (error) {
      found.textContent = error.message;
      return;
    }
    if (!classes.length) {
      found.textContent = `No class matches “${text}”.`;
      input.classList.add("invalid");
      return;
    }
    input.classList.remove("invalid");
    const exact = classes.find((cls) => cls.label.toLowerCase() === text.toLowerCase());
    const chosen = exact || classes[0];
    const previous = shownIndex;
    const best = classes.filter((cls) => cls.rank === chosen.rank).length;
    show(chosen, exact || best < 2 ? "" : `“${text}”: the likeliest of the ${best} best matches`);
    if (chosen.index !== previous) onPick(chosen);
  }

  input.addEventListener("change", commit);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      input.blur(); // commits through "change" when the text changed
    }
  });

  function show(cls, note = "") {
    shownIndex = cls.index;
    input.value = cls.label;
    input.classList.remove("invalid");
    const p = probability(cls.index);
    found.textContent = `class ${cls.index}${p === null ? "" : ` · ${percent(p)}`}${note ? ` (${note})` : ""}`;
  }

  return { show };
}
