"""The HTML pages: one router per family of pages. A page gets its data from the same
service functions as its JSON endpoints (as datasette's views serve HTML and JSON alike)."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.pages import architecture, assets, compare, lessons, mechanics, networks, training

ROUTERS: tuple[APIRouter, ...] = (
    lessons.router,
    mechanics.router,
    networks.router,
    architecture.router,
    compare.router,
    training.router,
    assets.router,
)
