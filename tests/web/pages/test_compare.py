"""/compare's HTML and its architecture figures: every figure against plain torch on the
networks' modules (forward hooks, parameter counts), for a zoo network and a user's own,
and the refusals (an unknown network, a name too long)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

import convscope
from app.main import create_app
from app.nets.custom import serving
from app.nets.layers import ResidualAdd
from app.nets.registry import get_network
from app.services.compare import figures
from app.settings import Settings
from tests.utils.own_networks import tricky


@pytest.fixture(scope="module")
def app_client() -> Iterator[TestClient]:
    with (
        serving.serving(tricky()),
        TestClient(create_app(Settings(device="cpu", preload_models=False))) as client,
    ):
        yield client


def plain_figures(model: nn.Module, shape: tuple[int, int, int]) -> dict[str, int]:
    """Counted with forward hooks on the leaf modules of one pass, and the parameters."""
    outputs: list[int] = []
    macs = convs = dense = 0

    def hook(module: nn.Module, args, output) -> None:  # type: ignore[no-untyped-def]
        nonlocal macs, convs, dense
        outputs.append(output[0].numel())
        if isinstance(module, nn.Conv2d):
            convs += 1
            kh, kw = module.kernel_size
            macs += output[0].numel() * module.in_channels // module.groups * kh * kw
        elif isinstance(module, nn.Linear):
            dense += 1
            macs += module.in_features * module.out_features

    leaves = [m for m in model.modules() if not any(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for handle in handles:
        handle.remove()
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "macs": macs,
        "layers": len(outputs),
        "convolutions": convs,
        "dense": dense,
        "activations": 4 * sum(outputs),
    }


@pytest.mark.parametrize("name", ["tricky", "simple-cnn", "lenet5"])
def test_the_figures_against_plain_torch(app_client, name):
    network = get_network(name)
    found = figures(network)
    expected = plain_figures(network.module, network.input_shape)
    for key, value in expected.items():
        if name == "tricky" and key in {"layers", "activations"}:
            # its functional sum and concatenation have no module: rows of their own
            # when the architecture table shows them, never fewer than the modules
            assert found[key]["value"] >= value, key
        else:
            assert found[key]["value"] == value, key
    assert found["classes"]["value"] == network.num_classes
    assert found["input"]["value"] == list(network.input_shape)


class Concat(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, b], dim=1)


class Joined(nn.Module):
    """A residual sum and a concatenation as modules of their own."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.add, self.cat, self.fc = ResidualAdd(), Concat(), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.a(x)
        return self.fc(self.cat(self.add(self.b(a), a), a).mean(dim=(2, 3)))


def test_residual_sums_and_concatenations_are_counted(app_client):
    joined = convscope.Network(Joined(), name="joined", input_shape=(1, 12, 16))
    with serving.serving(joined):
        found = figures(get_network("joined"))
    assert found["sums"]["value"] == 1 and found["concats"]["value"] == 1
    assert found["convolutions"]["value"] == 2 and found["dense"]["value"] == 1
    lenet = figures(get_network("lenet5"))
    assert lenet["sums"]["value"] == 0 and lenet["concats"]["value"] == 0


def test_the_page_shows_both_networks_and_their_figures(app_client):
    page = app_client.get("/compare", params={"a": "tricky", "b": "simple-cnn"})
    assert page.status_code == 200
    html = page.text
    assert "A: Tricky shapes" in html and "B: SimpleCNN" in html
    assert '<td data-side="a">1×24×40 (gray)</td>' in html
    parameters = f"{sum(p.numel() for p in get_network('simple-cnn').module.parameters()):,}"
    assert f'<td data-side="b">{parameters}</td>' in html
    assert app_client.get("/compare").status_code == 200  # the default pair


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"a": "nope"}, 404, "Unknown model"),
        ({"a": "vgg16"}, 422, "random weights (untrained)"),
        ({"b": "unet-digits"}, 422, "labels every pixel"),
        ({"b": "x" * 101}, 422, "at most 100 characters"),
    ],
)
def test_refusals(app_client, params, status, words):
    answer = app_client.get("/compare", params=params)
    assert answer.status_code == status
    assert words in answer.text
