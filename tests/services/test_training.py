"""The lab's store of trained networks and the registry's hook for it: a trained network is
served by name (eval mode, frozen), the least recently used forgotten first with a sentence
that says so, and the registry asks every source before it gives up."""

from __future__ import annotations

import pytest
import torch

from app.nets import registry
from app.nets.lab.architectures import Architecture
from app.nets.lab.config import parse_config
from app.nets.names import UnknownName
from app.services.training.lab import layer_names, parameter_count, summary
from app.services.training.store import PREFIX, Forgotten, TrainedNetworks, new_name, trained_spec

SIMPLE = Architecture("simple-cnn")


def spec_for(name: str, architecture: Architecture = SIMPLE):
    torch.manual_seed(0)
    state = architecture.builder().state_dict()
    return trained_spec(
        name, title="SimpleCNN, trained here", description="test", paper="test",
        builder=architecture.builder, state=state, accuracy=0.5, side=architecture.side,
        preprocess=architecture.preprocess,
    )  # fmt: skip


def test_a_trained_network_is_served_frozen_in_eval_mode_and_forgotten_least_recent_first():
    store = TrainedNetworks(max_items=2)
    names = [new_name() for _ in range(3)]
    assert all(n.startswith(PREFIX) and len(n) == len(PREFIX) + 8 for n in names)
    first = store.add(spec_for(names[0]), {"seed": 0})
    assert store.add(spec_for(names[0]), {}) is first  # again: the same network
    assert not first.module.training
    assert not any(p.requires_grad for p in first.module.parameters())
    assert first.spec.accuracy == 0.5 and first.num_classes == 10
    store.add(spec_for(names[1]), {})
    assert store.find(names[0]) is first  # used: the most recent now
    store.add(spec_for(names[2]), {})
    assert len(store) == 2 and store.find(names[0]) is first
    with pytest.raises(Forgotten, match=r"is not kept on this server .* keeps the 2 most recently"):
        store.find(names[1])
    assert store.find("lenet5") is None  # not a trained network's name: not this store's


def test_the_registry_serves_a_sources_networks_and_asks_every_source(monkeypatch):
    # only this test's sources: an app another test keeps running has its lab's registered
    monkeypatch.setattr(registry, "_SOURCES", [])
    mine, other = TrainedNetworks(max_items=4), TrainedNetworks(max_items=4)
    name = new_name()
    network = mine.add(spec_for(name), {})
    registry.add_source(other.find)  # raises Forgotten for the name: not the last word
    registry.add_source(mine.find)
    try:
        assert registry.get_network(name) is network
        assert registry.get_model_spec(name) is network.spec
        assert registry.get_network("lenet5").name == "lenet5"  # the zoo first
        assert name not in registry.list_models()  # the zoo's list stays the zoo
        with pytest.raises(Forgotten):
            registry.get_network(new_name())
    finally:
        registry.remove_source(mine.find)
        registry.remove_source(other.find)
    with pytest.raises(UnknownName, match="Unknown model"):
        registry.get_network(name)


def test_a_downloaded_state_dict_loads_strictly_into_the_architecture():
    from safetensors.torch import load

    store = TrainedNetworks(max_items=1)
    name = new_name()
    architecture = Architecture("deep", depth=6, residual=True, batchnorm=True)
    network = store.add(spec_for(name, architecture), {"seed": 3})
    model = architecture.builder()
    model.load_state_dict(load(store.weights(name)), strict=True)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
               network.module.state_dict().values(), strict=True))  # fmt: skip


def test_layer_names_and_parameters_come_from_a_meta_copy():
    architecture = Architecture("deep", depth=8)
    assert layer_names(architecture) == [
        "stem.conv", "blocks.0.conv1", "blocks.0.conv2", "blocks.1.conv1", "blocks.1.conv2",
        "blocks.2.conv1", "blocks.2.conv2", "fc",
    ]  # fmt: skip
    assert parameter_count(architecture) == sum(
        p.numel() for p in architecture.builder().parameters()
    )


def test_the_settings_in_words():
    text = summary(parse_config({"optimizer": "sgd", "lr": 0.1, "epochs": 1, "augment": True}))
    assert text == (
        "SGD with momentum 0.9, learning rate 0.1 decayed by a cosine, batches of 32, 1 epoch "
        "on 4,000 digits, augmented, seed 0"
    )
