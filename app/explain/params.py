"""One setting of a long computation (a saliency method, activation maximisation): its kind,
default and bounds, and the sentence that refuses a value outside them.

The same table lists the settings for the API (``GET .../saliency/methods``), the pages'
controls and the checks, so that no limit is written twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.ops.arrays import brief


@dataclass(frozen=True)
class Param:
    """One setting of a method: its kind, default, bounds (or choices) and meaning."""

    name: str
    kind: type  # int, float or str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    def check(self, value: Any) -> Any:
        """``value`` if it is allowed, else a ``ValueError`` naming the bounds."""
        if self.kind is str:
            if value not in self.choices:
                raise ValueError(
                    f"{self.name} must be one of {', '.join(self.choices)} (got {value!r})"
                )
            return value
        whole = self.kind is int
        kind = "a whole number" if whole else "a number"
        wrong_type = isinstance(value, bool) or not isinstance(value, int if whole else int | float)
        if wrong_type or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"{self.name} must be {kind} (got {brief(value)})")
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low:,.0f} to {high:,.0f}" if whole else f"from {low:g} to {high:g}"
            raise ValueError(f"{self.name} must be {kind} {bounds} (got {brief(value)})")
        return value if whole else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": {int: "integer", float: "number", str: "string"}[self.kind],
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices) or None,
            "doc": self.doc,
        }
