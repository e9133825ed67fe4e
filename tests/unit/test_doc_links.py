"""Every relative link of README.md and docs/*.md points to a file that exists, and to a heading of it.

Links are the ``[text](target)`` form outside fenced code blocks and code spans. A target with a scheme
(``https:``, ``mailto:``) is not checked; ``path#anchor`` must name an existing file and, for a markdown
file, one of its headings as GitHub turns it into an anchor (lower case, punctuation dropped, spaces as
hyphens, a repeated heading suffixed ``-1``, ``-2``...).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from layout import ROOT

DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced blocks and code spans (a link shown as code is not a link)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCE.sub("", document.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(document: Path) -> list[str]:
    return _LINK.findall(_prose(document.read_text(encoding="utf-8")))


def test_slug_follows_github() -> None:
    assert slug("Serving strategies to any OpenAI client: `ponder serve`") == (
        "serving-strategies-to-any-openai-client-ponder-serve"
    )
    assert slug("`verify`: generate, check, revise") == "verify-generate-check-revise"
    assert slug("What a client can set, and what stays the operator's") == (
        "what-a-client-can-set-and-what-stays-the-operators"
    )


def test_the_readme_links_the_architecture_page() -> None:
    assert "docs/architecture.md" in links(ROOT / "README.md")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_relative_links_resolve(document: Path) -> None:
    broken = []
    for target in links(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with this anchor in {file.name}")
    assert not broken, f"{document.name}: " + "; ".join(broken)
