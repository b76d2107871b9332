"""The settings of one training run, their defaults (the page's) and their limits.

A run is a :class:`TrainingConfig`: the network (:class:`~.architectures.Architecture`) and
how it is trained. :func:`parse_config` is the one place that checks a request's values and
says, in a sentence naming the value and the limit, what is wrong with one. The limits an
operator may change (epochs, depth) come in as :class:`Limits`; the rest are fixed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from app.nets.deep_cnn import MIN_DEPTH
from app.nets.lab.architectures import DEEP, Architecture
from app.nets.mnist import HELD_OUT_PER_DIGIT, PER_DIGIT

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine")
#: SGD's momentum (Polyak's heavy ball, as ``torch.optim.SGD(momentum=0.9)``).
MOMENTUM = 0.9
#: Training digits available: 400 of each digit (the other 100 are held out).
TRAIN_DIGITS = 10 * (PER_DIGIT - HELD_OUT_PER_DIGIT)
MIN_DIGITS = 100
MIN_BATCH, MAX_BATCH = 8, 256
MAX_LR = 10.0
MAX_SEED = 2**31 - 1
#: The deep network's depth when a request names the deep network without one.
DEFAULT_DEPTH = 20


@dataclass(frozen=True)
class Limits:
    """What an operator may change (``CONVSCOPE_TRAINING_MAX_EPOCHS`` and ``..._MAX_DEPTH``)."""

    max_epochs: int = 20
    max_depth: int = 32


@dataclass(frozen=True)
class TrainingConfig:
    """One run: the network, and how it is trained. Hashable: it keys the run's job, so two
    students asking for the same run share one."""

    architecture: Architecture = field(default_factory=lambda: Architecture("lenet5"))
    optimizer: str = "adam"
    lr: float = 0.004  # the learning rate of the first step
    batch_size: int = 32
    epochs: int = 3
    augment: bool = False  # the zoo's augmentation: rotation, scale, shift per image
    seed: int = 0  # the weights' initialisation, the order of the digits, the augmentation
    digits: int = TRAIN_DIGITS  # how many of the 4,000 training digits, as many of each
    schedule: str = "cosine"  # "cosine": the rate decays to 0 over the run; "constant"

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.digits // self.batch_size)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        """The settings as a request gives them (flat: ``network``, ``depth``, ...)."""
        fields = asdict(self)
        return {**fields.pop("architecture"), **fields}


#: The page's defaults: LeNet-5 from scratch, Adam, three epochs (≥ 90% held out).
DEFAULTS = TrainingConfig()
#: The settings a request may give.
FIELDS = {"network", "batchnorm", "depth", "residual"} | set(asdict(DEFAULTS)) - {"architecture"}


def _number(name: str, value: Any, low: float, high: float, *, integer: bool) -> None:
    kind = "a whole number" if integer else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise ValueError(f"{name} must be {kind}, not {value!r}")
    if value != value or not low <= value <= high:
        shown = str(value) if isinstance(value, int) else f"{value:g}"
        bounds = f"{low:,} to {high:,}" if integer else f"{low:g} to {high:g}"
        raise ValueError(f"{name} is {shown}; it must be from {bounds}")


def parse_config(fields: dict[str, Any], limits: Limits = Limits()) -> TrainingConfig:
    """A checked :class:`TrainingConfig` from a request's fields (absent or ``None``: the
    default); ``ValueError`` with a sentence for the first bad value."""
    given = {key: value for key, value in fields.items() if value is not None}
    unknown = sorted(set(given) - FIELDS)
    if unknown:
        raise ValueError(
            f"Unknown setting {unknown[0]!r}; the settings are {', '.join(sorted(FIELDS))}"
        )
    network = given.pop("network", DEFAULTS.architecture.network)
    depth = given.pop("depth", DEFAULT_DEPTH if network == DEEP else None)
    if network == DEEP:
        _number("depth", depth, MIN_DEPTH, limits.max_depth, integer=True)
    architecture = Architecture(
        network=str(network),
        batchnorm=bool(given.pop("batchnorm", False)),
        depth=depth,
        residual=bool(given.pop("residual", False)),
    )
    config = replace(DEFAULTS, architecture=architecture, **given)
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer is {config.optimizer!r}; it must be adam or sgd")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"schedule is {config.schedule!r}; it must be constant or cosine")
    _number("epochs", config.epochs, 1, limits.max_epochs, integer=True)
    _number("batch_size", config.batch_size, MIN_BATCH, MAX_BATCH, integer=True)
    _number("seed", config.seed, 0, MAX_SEED, integer=True)
    _number("digits", config.digits, MIN_DIGITS, TRAIN_DIGITS, integer=True)
    if config.digits % 10:
        raise ValueError(
            f"digits is {config.digits}; it must be a multiple of 10 (as many of each digit)"
        )
    _number("lr", config.lr, 0, MAX_LR, integer=False)
    if config.lr <= 0:
        raise ValueError(f"lr is {config.lr:g}; it must be more than 0 (and at most {MAX_LR:g})")
    return replace(config, lr=float(config.lr))
