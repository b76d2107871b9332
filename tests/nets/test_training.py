"""Training: reproducible from the seed, light augmentation, the card and the command."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors import safe_open

from app import cli
from app.nets import registry
from app.nets.training import Recipe, augment, train
from tests.utils.tolerance import assert_close


@pytest.mark.slow
def test_the_same_seed_gives_the_same_file(tmp_path):
    recipe = replace(Recipe(), epochs=1)
    first = train("simple-cnn", recipe, tmp_path / "a", log=lambda line: None)
    second = train("simple-cnn", recipe, tmp_path / "b", log=lambda line: None)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.accuracy == second.accuracy > 0.5  # one epoch already learns something
    with safe_open(str(first.path), framework="pt") as handle:
        metadata = json.loads(handle.metadata()["convscope"])
    assert metadata["recipe"] == {**Recipe().__dict__, "epochs": 1}
    assert metadata["held_out_accuracy"] == round(first.accuracy, 4)
    assert len(metadata["held_out_per_digit"]) == 10
    card = first.card.read_text()
    assert f"**{first.accuracy:.1%}** on the 1,000 held-out digits" in card
    assert "Seed 0; 1 epochs" in card and "convscope train simple-cnn" in card
    other = train("simple-cnn", replace(recipe, seed=1), tmp_path / "c", log=lambda line: None)
    assert other.path.read_bytes() != first.path.read_bytes()


def test_augmentation_moves_digits_a_little_and_keeps_the_background():
    gen = torch.Generator().manual_seed(0)
    batch = torch.zeros(8, 1, 28, 28)
    batch[:, :, 10:18, 12:16] = 1.0
    moved = augment(batch, Recipe(), gen)
    assert moved.shape == batch.shape
    assert moved[:, :, :3].abs().max() == 0 and moved[:, :, -3:].abs().max() == 0  # border
    assert not torch.equal(moved, batch)
    still = replace(Recipe(), max_rotation_deg=0, max_scale=0, max_shift_px=0)
    # the identity grid's sampling points are a few float32 roundings off pixel centres
    # (coordinates up to 28 pixels), which bilinear sampling turns into values off by that
    # much times the largest step between neighbours (1)
    assert_close(augment(batch, still, gen), batch, terms=8, scale=28 * 1.0)


def test_only_the_mnist_models_are_trained():
    with pytest.raises(ValueError, match="not trained by convscope"):
        train("efficientnet-lite0")


def test_the_train_command_refuses_an_unknown_model(capsys):
    assert cli.main(["train", "resnet"]) == 2
    assert "trainable models: lenet5, simple-cnn" in capsys.readouterr().err


def test_the_train_command_passes_its_flags(monkeypatch, tmp_path):
    from app.nets import training

    calls = {}
    monkeypatch.setattr(training, "train", lambda name, recipe, out, log: calls.update(locals()))
    assert (
        cli.main(["train", "lenet5", "--epochs", "3", "--seed", "7", "--out", str(tmp_path)]) == 0
    )
    assert calls["name"] == "lenet5" and calls["out"] == tmp_path
    assert (calls["recipe"].epochs, calls["recipe"].seed) == (3, 7)


def test_the_models_command_lists_the_zoo(capsys):
    assert cli.main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == registry.list_models()
    assert "4,652,008 parameters" in lines[2] and "75.1%" in lines[2]
