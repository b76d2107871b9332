"""Request field types shared by the array endpoints, documented in the OpenAPI schema.

Arrays and (h, w) pairs are accepted as plain JSON and validated by the computation layer,
which names the exact bad element (``input[2][1] is the text 'a', not a number``); the
schemas here only describe them for ``/docs``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema

_NUMBER_ARRAY = {
    "type": "array",
    "description": "Nested lists of finite numbers, every row the same length.",
    "items": {},
}

NumberArray = Annotated[Any, WithJsonSchema(_NUMBER_ARRAY)]

IntOrPair = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer"},
                {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            ],
            "description": "One integer for both axes, or [height, width].",
        }
    ),
]

NumberOrList = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}],
            "description": "One number for every output channel, or one per output channel.",
        }
    ),
]


class Body(BaseModel):
    """A JSON request body: unknown fields are refused ("Unknown field 'window'"), types are
    strict (``"3"`` or ``true`` is not a number, as the trace endpoints have always said),
    and :meth:`fields` hands the values to a service as they came."""

    model_config = ConfigDict(extra="forbid", strict=True)

    def fields(self) -> dict[str, Any]:
        """The fields by name, unconverted (the service validates and names bad values)."""
        return {name: getattr(self, name) for name in type(self).model_fields}
