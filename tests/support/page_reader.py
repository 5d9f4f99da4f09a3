"""Read the status page's figures back out of its HTML (the `data-figure` attributes and the shown text)."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Figures(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, tuple[str, str]] = {}
        self.alerts: list[str] = []
        self._open: list[tuple[str, str, list[str]]] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        # Anything the browser would load (a plain link to follow is fine: it loads nothing).
        if a.get("src") or tag in ("script", "link", "img", "iframe", "object", "embed"):
            self.external.append(f"{tag} {a.get('src') or a.get('href') or ''}")
        if "data-alert" in a:
            self.alerts.append(a["data-alert"] or "")
        if "data-figure" in a:
            self._open.append((a["data-figure"] or "", a.get("data-value") or "", []))

    def handle_data(self, data: str) -> None:
        for _name, _value, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("span", "div"):
            name, value, text = self._open.pop()
            self.figures[name] = (value, "".join(text))


def read_page(html: str) -> _Figures:
    parser = _Figures()
    parser.feed(html)
    return parser


def shown_int(text: str) -> int:
    """The integer a figure shows ("12 345" with narrow spaces, "-40"), from its visible text."""
    digits = re.sub(r"[^\d-]", "", text)
    return int(digits)
