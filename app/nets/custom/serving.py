"""Serve users' own networks beside the zoo, and the servers ``convscope.serve`` and
``convscope.explore`` start.

:func:`add` checks a :class:`~app.nets.custom.model.Network` (its safe copy is made once),
registers it in the zoo (:func:`app.nets.registry.register_model`: every page, the model
menu and ``/networks`` list it) and its sample images beside the shipped ones (ids
``sample-own-<network>-<n>``); :func:`remove` takes them out again. The app's answers are
cached by network name, so a name stands for one model while a process runs: serving
another model under a name already served is refused (``explore`` picks a fresh name).
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from app.images.samples import SAMPLES, Sample
from app.nets.custom.model import Network, NetworkError
from app.nets.registry import ModelSpec, list_models, register_model, unregister_model
from app.nets.weights import Weights

SAMPLE_PREFIX = "own-"
WEIGHTS_SOURCE = "your own: loaded by your code"


@dataclass(frozen=True)
class Added:
    network: Network
    spec: ModelSpec
    sample_ids: tuple[str, ...]
    fingerprint: str


_ADDED: dict[str, Added] = {}
#: Every network served by name in this process, served still or not: some answers are kept
#: by name for the process's life (a layer's filter gallery), so a name is one model for good.
_NAMED: dict[str, str] = {}  # name → fingerprint
_LOCK = threading.Lock()


def spec_of(network: Network, samples: Sequence[Sample]) -> ModelSpec:
    """The zoo's spec for ``network``: its safe copy as the builder, its labels, its
    preprocessing, its samples, and what was changed in its description."""
    prepared = network.prepared
    notes = "".join(f" {note[0].upper()}{note[1:]}." for note in prepared.notes)
    description = (network.description or "Your own network, served by convscope.") + notes
    return ModelSpec(
        name=network.name,
        title=str(network.title),
        description=description,
        paper=network.paper,
        builder=lambda: copy.deepcopy(prepared.module),
        weights=Weights(source=WEIGHTS_SOURCE, loader=prepared.module.state_dict),
        labels=network.class_labels(prepared.num_classes),
        preprocess=network.preprocessing,
        input_shape=network.input_shape,
        samples=tuple(sample.file for sample in samples),
    )


def _samples(network: Network) -> list[Sample]:
    kind = "digit" if network.digits else "photo"
    found = []
    for n, (title, file) in enumerate(network.sample_files(), start=1):
        shipped = next((s for s in SAMPLES.values() if s.file == file), None)
        found.append(
            shipped or Sample(f"{SAMPLE_PREFIX}{network.name}-{n}", title, file, "your own", kind)
        )
    return found


def fingerprint(network: Network) -> str:
    """A digest of the model as it is now: its class, description and every weight's bytes
    (a module trained further after it was served has another)."""
    digest = hashlib.sha256(type(network.module).__qualname__.encode())
    fields = ("input_shape", "title", "labels", "preprocess", "samples", "description",
              "paper", "outputs")  # fmt: skip
    for name in fields:
        value = getattr(network, name)
        shown = repr(value) if not callable(value) else f"{value!r}@{id(value)}"
        digest.update(f"{name}={shown};".encode())
    for key, tensor in network.module.state_dict().items():
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    return digest.hexdigest()


def add(network: Network) -> ModelSpec:
    """Serve ``network`` beside the zoo (again for the same model under its name: nothing)."""
    if not isinstance(network, Network):
        raise NetworkError(f"expected a convscope.Network, not {type(network).__name__}")
    with _LOCK:
        found = fingerprint(network)
        known = _ADDED.get(network.name)
        if known is not None and known.fingerprint == found:
            return known.spec
        named = _NAMED.get(network.name)
        if named is not None and named != found:
            raise NetworkError(
                f"another network has been served as {network.name!r} in this process: give "
                "this one another name"
            )
        if network.name in list_models():
            raise NetworkError(
                f"{network.name!r} is the name of a network of the zoo: give yours another name"
            )
        samples = _samples(network)
        spec = register_model(spec_of(network, samples))
        own = [s for s in samples if s.name.startswith(SAMPLE_PREFIX)]
        for sample in own:
            SAMPLES[sample.id] = sample
        _ADDED[network.name] = Added(network, spec, tuple(s.id for s in own), found)
        _NAMED[network.name] = found
        return spec


def remove(name: str) -> None:
    """Stop serving the user's network ``name`` (and its sample images)."""
    with _LOCK:
        found = _ADDED.pop(name, None)
        if found is None:
            return
        unregister_model(name)
        for sample_id in found.sample_ids:
            SAMPLES.pop(sample_id, None)


def served() -> list[str]:
    """The names of the users' networks served, in the order they were added."""
    return list(_ADDED)


def notes(name: str) -> list[str]:
    """What was changed in the user's network ``name`` to serve it."""
    found = _ADDED.get(name)
    return list(found.network.prepared.notes) if found is not None else []


def fresh_name(network: Network) -> str:
    """``network``'s name, or with ``-2``, ``-3``… if another model has had it."""
    n, candidate, found = 1, network.name, fingerprint(network)
    while True:
        other = _NAMED.get(candidate)
        if other is None or other == found:
            return candidate
        n += 1
        candidate = f"{network.name}-{n}"


@contextmanager
def serving(*networks: Network) -> Iterator[list[ModelSpec]]:
    """``networks`` served for the duration of the block."""
    added: list[str] = []
    try:
        specs = []
        for network in networks:
            new = network.name not in _ADDED  # one served before the block stays after it
            specs.append(add(network))
            if new:
                added.append(network.name)
        yield specs
    finally:
        for name in added:
            remove(name)


def wait_started(server: object, thread: threading.Thread, timeout: float = 60.0) -> None:
    """Wait until a server started on ``thread`` listens (``RuntimeError`` if it cannot)."""
    deadline = time.monotonic() + timeout
    while not getattr(server, "started", False):
        if not thread.is_alive():
            raise RuntimeError("the convscope server stopped as it started (is the port taken?)")
        if time.monotonic() > deadline:
            raise RuntimeError("the convscope server did not start in time")
        time.sleep(0.05)
