"""How a report names a source it links to (HTML and Markdown)."""

from __future__ import annotations


def link_text(url: str) -> str:
    """A source's short name: its host and the last part of its path."""
    rest = url.split("://", 1)[-1].split("#", 1)[0].split("?", 1)[0]
    host, _, path = rest.partition("/")
    last = path.rstrip("/").rsplit("/", 1)[-1]
    host = host.removeprefix("www.")
    return f"{host} › {last}" if last else host
