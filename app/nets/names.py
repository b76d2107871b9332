"""The error for a model or a layer asked for by a name that does not exist."""

from __future__ import annotations


class UnknownName(ValueError):
    """A model or layer name that does not exist; ``known`` lists the valid ones."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, known
        shown = name if len(name) <= 60 else name[:57] + "..."  # never echo a huge name
        super().__init__(f"Unknown {kind} {shown!r}: the {kind}s are {', '.join(known)}")
