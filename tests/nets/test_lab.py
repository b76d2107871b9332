"""The training lab's computation: a run is a plain PyTorch loop (the same losses from the
same seed), the gradient norms it records are autograd's, LeNet-5 learns with the page's
defaults, a deep plain network's first layers get vanishing gradients and a residual one's
do not, a learning rate too large is a divergence, and the held-out report adds up."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from app.nets.deep_cnn import DeepCNN
from app.nets.lab.architectures import Architecture, LeNet5BN, SimpleCNNBN
from app.nets.lab.config import DEFAULTS, TrainingConfig, parse_config
from app.nets.lab.data import lab_data
from app.nets.lab.loop import AUGMENTATION, MAX_ENTRIES, WATCHED, train
from app.nets.lab.probes import tracked_layers
from app.nets.lab.report import WORST, held_out_report, report_of
from app.nets.mnist import split
from app.nets.preprocess import LENET
from app.nets.training import augment, prepare
from app.settings import ROOT
from tests.utils.tolerance import assert_close, network_terms


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Any:
    """Train on one torch thread, as the app's training lane does (``torch_threads``): on a
    machine whose cores are busy, two threads wait for each other at every op, and an epoch
    took ten times as long (124 s against 13 s on the 2-core development machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def config(**fields: Any) -> TrainingConfig:
    return parse_config(fields)


def plain_loop(config: TrainingConfig) -> dict[str, list[Any]]:
    """The loop a student writes, with the lab's seeding; what autograd and the optimiser
    left at every step, read straight off the tensors."""
    data = lab_data(config.architecture.preprocess)
    torch.manual_seed(config.seed)
    model = config.architecture.builder()
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=0.9
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    total = config.epochs * math.ceil(config.digits / config.batch_size)
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
        if config.schedule == "cosine"
        else None
    )
    generator = torch.Generator().manual_seed(config.seed)
    per_digit = config.digits // 10
    chosen = torch.tensor([i for i in range(4000) if i % 400 < per_digit])
    weights = [w for _, w in tracked_layers(model)]
    seen: dict[str, list[Any]] = {"loss": [], "grad_norms": [], "update_ratios": [], "lr": []}
    for _ in range(config.epochs):
        model.train()
        for batch in chosen[torch.randperm(len(chosen), generator=generator)].split(
            config.batch_size
        ):
            if config.augment:
                x = data.preprocess.scale(augment(data.train_unit[batch], AUGMENTATION, generator))
            else:
                x = data.train_x[batch]
            loss = F.cross_entropy(model(x), data.train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            before = [w.detach().clone() for w in weights]
            seen["loss"].append(loss.item())
            seen["grad_norms"].append([float(w.grad.norm()) for w in weights])
            seen["lr"].append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if schedule is not None:
                schedule.step()
            seen["update_ratios"].append(
                [
                    float((w.detach() - b).norm() / b.norm())
                    for w, b in zip(weights, before, strict=True)
                ]
            )
    return seen


def largest(model: torch.nn.Module) -> int:
    """Terms of the largest norm: a norm of a weight's gradient sums its numel squares."""
    return max(w.numel() for _, w in tracked_layers(model))


RUNS = [
    {"network": "lenet5", "digits": 200, "epochs": 2},
    {"network": "simple-cnn", "batchnorm": True, "optimizer": "sgd", "lr": 0.05,
     "schedule": "constant", "digits": 160, "batch_size": 48, "augment": True, "seed": 3},
    {"network": "deep", "depth": 8, "residual": True, "batchnorm": True, "digits": 100,
     "batch_size": 16, "seed": 7},
]  # fmt: skip


@pytest.mark.parametrize("fields", RUNS, ids=["lenet5", "simple-cnn-bn-sgd-augment", "resnet-8"])
def test_a_run_is_a_plain_pytorch_loop_and_records_autograds_gradients(fields):
    run = config(**fields)
    outcome = train(run, lab_data(run.architecture.preprocess))
    plain = plain_loop(run)
    history = outcome.history
    assert [e["step"] for e in history] == list(range(1, run.total_steps + 1))  # every step
    # the same operations on the same numbers: the same losses, whatever the machine
    assert_close([e["loss"] for e in history], plain["loss"], dtype=torch.float32)
    assert [e["lr"] for e in history] == plain["lr"]
    # gradient norms are the norms of autograd's .grad; a norm sums numel squares
    terms = network_terms(outcome.model, passes=2)
    biggest = largest(outcome.model)
    for recorded, expected in zip(history, plain["grad_norms"], strict=True):
        assert_close(recorded["grad_norms"], expected, terms=biggest, dtype=torch.float32)
    # the weights moved as the plain loop's did (their step's size relative to their size)
    for recorded, expected in zip(history, plain["update_ratios"], strict=True):
        assert_close(recorded["update_ratios"], expected, terms=terms + biggest,
                     dtype=torch.float32)  # fmt: skip
    assert outcome.layers == [name for name, _ in tracked_layers(outcome.model)]
    ends = [e for e in history if "heldout_accuracy" in e]
    assert [e["epoch"] for e in ends] == list(range(1, run.epochs + 1))
    assert all(0 <= e["heldout_accuracy"] <= 1 and e["heldout_loss"] > 0 for e in ends)


@pytest.mark.slow
def test_lenet5_with_the_pages_defaults_learns_to_90_percent_in_three_epochs():
    assert (DEFAULTS.architecture.network, DEFAULTS.epochs) == ("lenet5", 3)
    assert DEFAULTS.digits == 4000 and not DEFAULTS.augment
    outcome = train(DEFAULTS, lab_data(DEFAULTS.architecture.preprocess))
    report = held_out_report(outcome.model, lab_data(DEFAULTS.architecture.preprocess), "cpu")
    assert report.accuracy >= 0.90
    assert outcome.history[-1]["heldout_accuracy"] == pytest.approx(report.accuracy)


def first_step(**fields: Any) -> list[float]:
    run = config(digits=100, epochs=1, **fields)
    return train(run, lab_data(run.architecture.preprocess)).history[0]["grad_norms"]


def test_a_deep_plain_networks_first_layers_get_vanishing_gradients_and_a_residual_ones_do_not():
    plain = first_step(network="deep", depth=20)
    residual = first_step(network="deep", depth=20, residual=True)
    assert len(plain) == len(residual) == 20  # 19 convolutions and the dense layer
    # the chain rule's product over 19 layers: many orders of magnitude (about 10⁻⁸ here)
    assert plain[0] / plain[-1] < 1e-5
    assert residual[0] / residual[-1] > 1e-3  # the identity paths carry it (about 10⁻¹·⁵)
    # and BatchNorm brings it back too
    normalised = first_step(network="deep", depth=20, batchnorm=True)
    assert normalised[0] / normalised[-1] > 1e-3


def test_too_large_a_learning_rate_is_a_divergence_not_a_crash():
    run = config(network="deep", depth=8, residual=True, optimizer="sgd", lr=10.0,
                 schedule="constant", digits=500)  # fmt: skip
    outcome = train(run, lab_data(run.architecture.preprocess))
    assert outcome.diverged is not None
    assert outcome.diverged["loss"] in ("nan", "inf")
    last = outcome.history[-1]
    assert last["step"] == outcome.diverged["step"] < run.total_steps
    assert last["loss"] is None and last["update_ratios"] is None
    assert all(e["loss"] is not None and math.isfinite(e["loss"]) for e in outcome.history[:-1])


def test_a_long_run_logs_at_most_a_thousand_entries_and_every_epochs_end():
    # 125 steps an epoch (odd: an epoch's end is not a multiple of 2), 1,125 in all
    run = config(digits=1000, batch_size=8, epochs=9)
    calls: list[float] = []
    outcome = train(run, lab_data(run.architecture.preprocess), progress=calls.append)
    steps = [e["step"] for e in outcome.history]
    assert len(steps) <= MAX_ENTRIES and steps[-1] == run.total_steps
    assert {125 * k for k in range(1, 10)} <= set(steps)
    assert len(steps) > run.total_steps // 2  # every other step, and each epoch's end
    assert all(e["loss"] > 0 and len(e["grad_norms"]) == 5 for e in outcome.history)
    assert calls[0] == 0 and calls[-1] == 1 and calls == sorted(calls)
    assert len(calls) == run.total_steps + 1  # before every step, and at the end


def test_snapshots_hold_the_first_filters_and_the_watched_digits_answers():
    run = config(digits=100, epochs=2)
    outcome = train(run, lab_data(run.architecture.preprocess))
    first, last = outcome.snapshots[0], outcome.snapshots[-1]
    assert (first["step"], last["step"]) == (0, run.total_steps)
    # 8 steps of 32 digits: one snapshot per 160 digits at most, and the last step's
    assert [s["step"] for s in outcome.snapshots] == [0, 5, 8]
    assert torch.tensor(last["filters"]).shape == (6, 5, 5)  # LeNet-5's conv1
    assert_close(torch.tensor(last["filters"]), outcome.model.conv1.weight[:, 0])
    assert len(last["predictions"]) == len(WATCHED) == 10
    assert all(0 <= p["predicted"] < 10 and 0.1 <= p["probability"] <= 1 for p in
               last["predictions"])  # fmt: skip


def test_the_watched_digits_are_the_held_out_samples():
    data = lab_data(Architecture("simple-cnn").preprocess)
    for position in WATCHED:
        label = int(data.test_y[position])
        assert label == position // 100
        with Image.open(ROOT / "static" / "samples" / f"mnist-{label}.png") as file:
            sample = torch.from_numpy(np.array(file.convert("L")))
        assert torch.equal(sample, data.held_out.images[position])


def test_the_held_out_report_adds_up():
    run = config(digits=300, epochs=1)
    data = lab_data(run.architecture.preprocess)
    outcome = train(run, data)
    report = held_out_report(outcome.model, data, "cpu")
    confusion = torch.tensor(report.confusion)
    assert confusion.shape == (10, 10) and int(confusion.sum()) == 1000
    assert confusion.sum(1).tolist() == [100] * 10  # 100 held-out digits of each
    assert report.accuracy == pytest.approx(float(confusion.diag().sum()) / 1000)
    assert report.per_digit == pytest.approx((confusion.diag() / 100).tolist())
    assert len(report.mistakes) == min(WORST, 1000 - int(confusion.diag().sum()))
    sure = [m.probability for m in report.mistakes]
    assert sure == sorted(sure, reverse=True)
    for m in report.mistakes:
        assert m.label != m.predicted and m.label_probability < m.probability
        assert m.index == int(data.held_out.indices[m.position]) and m.label == m.index // 500
    # the lab makes it from the loop's last held-out pass: the same report, no second pass
    assert outcome.probabilities is not None
    from_loop = report_of(outcome.probabilities, data)
    assert from_loop.confusion == report.confusion
    assert [(m.position, m.predicted) for m in from_loop.mistakes] == [
        (m.position, m.predicted) for m in report.mistakes
    ]
    assert_close([m.probability for m in from_loop.mistakes], sure, dtype=torch.float32)
    assert outcome.history[-1]["heldout_accuracy"] == pytest.approx(report.accuracy)


def test_lenet5s_pictures_are_prepared_as_the_zoo_prepares_them():
    # padded from the 28×28 pictures: exactly what preparing them for LeNet-5 gives
    train, held_out = split()
    some = torch.arange(len(train)) % 400 < 3  # 3 of each digit
    data = lab_data(LENET)
    assert torch.equal(data.train_unit[some], prepare(LENET, train.subset(some)))
    firsts = torch.arange(len(held_out)) % 100 == 0
    assert torch.equal(data.test_x[firsts], LENET.scale(prepare(LENET, held_out.subset(firsts))))
    assert data.train_x.shape == (4000, 1, 32, 32)


def test_the_subset_takes_as_many_of_each_digit():
    data = lab_data(Architecture("lenet5").preprocess)
    chosen = data.subset(120)
    assert len(chosen) == 120 and torch.bincount(data.train_y[chosen]).tolist() == [12] * 10
    assert len(data.subset(4000)) == 4000


@pytest.mark.parametrize(
    ("architecture", "kind", "side"),
    [
        (Architecture("lenet5"), "LeNet5", 32),
        (Architecture("lenet5", batchnorm=True), "LeNet5BN", 32),
        (Architecture("simple-cnn", batchnorm=True), "SimpleCNNBN", 28),
        (Architecture("deep", depth=4), "DeepCNN", 28),
        (Architecture("deep", depth=32, residual=True, batchnorm=True), "DeepCNN", 28),
    ],
)
def test_every_architecture_builds_and_classifies_its_input(architecture, kind, side):
    model = architecture.builder()
    assert type(model).__name__ == kind and architecture.side == side
    assert model(torch.zeros(3, 1, side, side)).shape == (3, 10)
    batchnorms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bool(batchnorms) == architecture.batchnorm
    if architecture.network == "deep":
        assert len(tracked_layers(model)) == architecture.depth  # He et al.'s count
        assert isinstance(model, DeepCNN)
        sums = [m for m in model.modules() if type(m).__name__ == "ResidualAdd"]
        assert len(sums) == (architecture.depth - 2) // 2 * architecture.residual


def test_batchnorm_variants_keep_the_zoos_layer_names():
    assert {"conv1", "bn1", "tanh1", "conv3", "bn3", "fc2"} <= dict(
        LeNet5BN().named_modules()
    ).keys()
    assert {"conv2", "bn2", "relu2", "fc3"} <= dict(SimpleCNNBN().named_modules()).keys()


def test_the_same_seed_draws_the_same_network():
    one, two = config(network="deep", depth=6), config(network="deep", depth=6)
    assert one == two and hash(one) == hash(two)
    torch.manual_seed(1)
    a = one.architecture.builder().state_dict()
    torch.manual_seed(1)
    b = two.architecture.builder().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_entry_of_a_run_logged_every_kth_step_is_the_mean_loss_since_the_last(monkeypatch):
    from app.nets.lab import loop

    monkeypatch.setattr(loop, "MAX_ENTRIES", 4)
    run = config(digits=100, epochs=2)  # 4 steps an epoch: entries every second step
    outcome = train(run, lab_data(run.architecture.preprocess))
    plain = plain_loop(run)
    assert [e["step"] for e in outcome.history] == [2, 4, 6, 8]
    means = [(a + b) / 2 for a, b in zip(plain["loss"][::2], plain["loss"][1::2], strict=True)]
    assert_close([e["loss"] for e in outcome.history], means, dtype=torch.float32, terms=2)
    for entry in outcome.history:
        expected = plain["grad_norms"][entry["step"] - 1]  # the logged step's own
        assert_close(
            entry["grad_norms"], expected, terms=largest(outcome.model), dtype=torch.float32
        )


def test_runs_starting_together_get_their_own_seeds_weights():
    """A comparison's two runs start at once: each network's initial weights are its seed's
    as if it ran alone, and the global generator's state is left as it was."""
    import threading

    from app.nets.lab.loop import initial_model

    configs = [dataclasses.replace(DEFAULTS, seed=seed) for seed in range(6)]
    alone = [initial_model(c).state_dict() for c in configs]
    state = torch.random.get_rng_state()
    together: dict[int, dict[str, torch.Tensor]] = {}
    start = threading.Barrier(len(configs))

    def build(i: int) -> None:
        start.wait()
        for _ in range(5):
            together[i] = initial_model(configs[i]).state_dict()

    threads = [threading.Thread(target=build, args=(i,)) for i in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert torch.equal(torch.random.get_rng_state(), state)
    for i, weights in enumerate(alone):
        assert all(torch.equal(weights[k], together[i][k]) for k in weights)
