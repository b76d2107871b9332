"""The JSON API under ``/api``: one router per resource. Each handler parses its request,
calls one service and answers; errors become 4xx in :mod:`app.web.errors`."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.api import (
    activations,
    architecture,
    convolution,
    detection,
    filters,
    health,
    images,
    jobs,
    kernels,
    mechanics,
    models,
    pointwise,
    pooling,
    saliency,
    segmentation,
    training,
    transposed,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        convolution,
        images,
        kernels,
        pointwise,
        pooling,
        transposed,
        mechanics,
        activations,
        models,
        architecture,
        filters,
        saliency,
        segmentation,
        detection,
        training,
        jobs,
        health,
    )
)
