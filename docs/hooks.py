"""mkdocs hook: pages include sections of README.md and SECURITY.md, so the site and
the repository say the same thing.

A line ``<!-- include FILE -->`` is replaced by FILE without its title; a line
``<!-- include FILE#Heading -->`` by the ``## Heading`` section of FILE (up to the
next ``## ``). A missing file or heading fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_INCLUDE = re.compile(r"^<!-- include (?P<file>[\w./-]+)(?:#(?P<heading>[^>]+?))? -->$", re.M)


def _section(text: str, heading: str | None, name: str) -> str:
    lines = text.splitlines()
    if heading is None:
        return "\n".join(lines[1:] if lines and lines[0].startswith("# ") else lines)
    start = next((i for i, line in enumerate(lines) if line == f"## {heading}"), None)
    if start is None:
        raise ValueError(f"{name} has no section '## {heading}'")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start + 1 : end])


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    def replace(found: re.Match[str]) -> str:
        name = found["file"]
        text = (ROOT / name).read_text(encoding="utf-8")
        return _section(text, found["heading"], name)

    return _INCLUDE.sub(replace, markdown)
