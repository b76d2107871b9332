"""What a test reads off a rendered page, without a browser: headings, ids, links, scripts,
inline handlers, stylesheets, options, controls, and the JSON payload handed to the script."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any


class Page(HTMLParser):
    """A parsed page. ``h1``: the text of each h1; ``links``: every href; ``scripts``: the
    attributes of every script tag; ``handlers``: inline ``on*`` attributes (there must be
    none: the CSP forbids them); ``rows``: the ``data-layer`` of table rows; ``methods``:
    the values of the ``method`` inputs; ``settings``: ``data-setting`` controls by the
    ``data-method`` block they are in; ``current``: the text of the ``aria-current`` link."""

    def __init__(self) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self.handlers: list[str] = []
        self.stylesheets: list[str] = []
        self.options: list[str] = []
        self.rows: list[str] = []
        self.methods: list[str] = []
        self.settings: dict[str, dict[str, str]] = {}
        self.current: list[str] = []
        self._in_h1 = False
        self._in_current = False
        self._method = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        self.handlers += [name for name in a if name.startswith("on")]
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "script":
            self.scripts.append(a)
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a["href"])
        if tag == "option" and a.get("value"):
            self.options.append(a["value"])
        if tag == "tr" and a.get("data-layer"):
            self.rows.append(a["data-layer"])
        if tag == "div" and "data-method" in a:
            self._method = a["data-method"]
        if tag == "input" and a.get("name") == "method":
            self.methods.append(a["value"])
        if "data-setting" in a:
            self.settings.setdefault(self._method, {})[a["data-setting"]] = a.get("value", tag)
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")
        self._in_current = tag == "a" and a.get("aria-current") == "page"

    def handle_endtag(self, tag: str) -> None:
        self._in_h1 = self._in_h1 and tag != "h1"
        self._in_current = self._in_current and tag != "a"

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1[-1] = (self.h1[-1] + data).strip()
        if self._in_current and data.strip():
            self.current.append(data.strip())

    @property
    def script_sources(self) -> list[str]:
        return [script.get("src", "") for script in self.scripts]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def payload(html: str) -> dict[str, Any]:
    """The data a page hands to its script (``<script type="application/json" id="payload">``)."""
    block = re.search(r'<script type="application/json" id="payload">(.*?)</script>', html, re.S)
    assert block is not None, "the page has no payload"
    data: dict[str, Any] = json.loads(block.group(1))
    return data
