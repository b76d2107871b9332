"""``GET /api/pointwise/presets``: the 1×1-convolution page's examples (computed with
``POST /api/convolution`` and a C_out×C_in×1×1 kernel)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.services import operations
from app.web.responses import JSONBytes

router = APIRouter(prefix="/api", tags=["convolution"])


@router.get("/pointwise/presets", summary="Presets of the 1×1-convolution page")
def pointwise_preset_list() -> Response:
    """Input stacks and mixing matrices; send them to POST /api/convolution as 1×1 kernels."""
    return JSONBytes(operations.pointwise_config())
