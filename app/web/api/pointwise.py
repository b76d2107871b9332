"""``GET /api/pointwise/presets``: the 1×1-convolution page's examples (computed with
``POST /api/convolution`` and a C_out×C_in×1×1 kernel)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from app.ops.conv import LIMITS
from app.ops.pointwise import DEFAULT_POINTWISE_PRESET, pointwise_presets
from app.web.responses import JSONBytes

router = APIRouter(prefix="/api", tags=["convolution"])


def pointwise_config() -> dict[str, Any]:
    """Presets (input stacks and mixing matrices) and the convolution's limits."""
    return {
        "presets": [preset.to_dict() for preset in pointwise_presets().values()],
        "default_preset": DEFAULT_POINTWISE_PRESET,
        "limits": asdict(LIMITS),
    }


@router.get("/pointwise/presets", summary="Presets of the 1×1-convolution page")
def pointwise_preset_list() -> Response:
    """Input stacks and mixing matrices; send them to POST /api/convolution as 1×1 kernels."""
    return JSONBytes(pointwise_config())
