"""``GET /api/architecture/shrink``: the lecture's question "how many k×k layers (stride s,
padding p) shrink an n×n input to m×m?", answered by running the convolutions on PyTorch's
meta device (shapes only), with the receptive field after each layer. The architecture of
a network itself is ``GET /api/models/{name}/architecture``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.services.architecture_figures import (
    SHRINK_MAX_KERNEL,
    SHRINK_MAX_PADDING,
    SHRINK_MAX_SIZE,
    SHRINK_MAX_STRIDE,
    shrink,
)
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes

router = APIRouter(prefix="/api/architecture", tags=["architecture"])


@router.get(
    "/shrink",
    summary="How many convolutions shrink an input to a size",
    responses=ERROR_RESPONSES,
)
def shrink_question(
    size: Annotated[int, Query(description=f"The input's side, 1 to {SHRINK_MAX_SIZE}")] = 224,
    kernel: Annotated[int, Query(description=f"The kernel's side, 1 to {SHRINK_MAX_KERNEL}")] = 5,
    stride: Annotated[int, Query(description=f"1 to {SHRINK_MAX_STRIDE}")] = 1,
    padding: Annotated[int, Query(description=f"Each side, 0 to {SHRINK_MAX_PADDING}")] = 0,
    target: Annotated[int, Query(description="The side to reach, 1 to size")] = 4,
) -> Response:
    """Layers are added until the maps are `target`×`target` or smaller (`exact` says whether
    `target` itself is reached); `sizes` and `receptive_field` give each layer's side and the
    field of its units (layer 0 is the input). A convolution that never shrinks (stride 1,
    padding ≥ half the kernel) is refused."""
    return JSONBytes(shrink(size, kernel, stride, padding, target))
