"""A worked example of an operation page: its input and settings, where it comes from, the
correct output when a slide shows one, and a note when the slide got it wrong.

Every ``expected`` output is checked against ``torch.nn.functional`` (tests/ops/presets/
keeps them checked); a page shows the ``note``, because a student who compares with the
slide deserves to know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.ops.traces import TRACES


@dataclass(frozen=True)
class Preset:
    """One configuration of an operation page, with where it comes from."""

    operation: str  # the engine that runs it: a key of app.ops.traces.TRACES
    name: str
    title: str
    source: str
    input: list[Any]  # H×W or C×H×W
    settings: Mapping[str, Any]  # what the engine takes besides the input: kernel, stride, ...
    expected: list[Any] | None = None  # the correct output, if a slide shows one
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __getattr__(self, name: str) -> Any:
        """A setting by name: ``preset.kernel``, ``preset.stride``."""
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('name')!r} has no {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """What a page and ``GET /api/.../presets`` say: the settings beside the input."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "input": self.input,
            **self.settings,
            "expected": self.expected,
            "note": self.note,
            "tags": list(self.tags),
        }

    def run(self) -> Any:
        """The trace this preset sets up, computed."""
        return TRACES[self.operation](input=self.input, **self.settings)
