"""The front doors: every relative link in the READMEs, CONTRIBUTING.md and docs/
resolves (anchors included), and every error message a README or the fmtb page
quotes in its troubleshooting table is one the code can print.

Quoting convention (CONTRIBUTING.md says it too): a troubleshooting table's first
column holds the message in backticks, as the code prints it, with each variable
part written ``…`` (``'…'`` for a quoted value). Each piece between the ``…`` must
stand in one string literal (or one literal part of an f-string) in fmtb/,
fmtb_helpers/ or a notebook's code cell (either edition); the ``fmtb run: error: ``
prefix comes from fmtb/cli.py.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "README.ko.md", ROOT / "CONTRIBUTING.md",
                *(ROOT / "docs").rglob("*.md")])
QUOTING = [ROOT / "README.md", ROOT / "README.ko.md", ROOT / "docs" / "fmtb.md"]
TROUBLE = re.compile(r"^##+ .*(troubleshooting|문제 해결|errors|오류)", re.I)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
PREFIX = re.compile(r"^fmtb (run|sweep|data|bench): error: ")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are code)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    body = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    for line in body.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(prose(page.read_text(encoding="utf-8")))]


def test_the_pages_exist():
    assert (ROOT / "LICENSE").is_file()
    assert len(list((ROOT / "docs").glob("*.md"))) >= 5
    assert len(PAGES) >= 8


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            shown = dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest
            broken.append(f"{target}: no {shown}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def literal_pieces() -> list[str]:
    """Every string literal, and every literal part of every f-string, in the code:
    fmtb/, fmtb_helpers/, and the notebooks' code cells in both editions (each
    notebook's first code cell says what to do in a kernel without the helpers)."""
    import json

    from IPython.core.inputtransformer2 import TransformerManager

    sources = [source.read_text(encoding="utf-8") for package in ("fmtb", "fmtb_helpers")
               for source in (ROOT / package).rglob("*.py")]
    table = json.loads((ROOT / "notebooks/ko/translations.json").read_text(encoding="utf-8"))
    cells = [c for nb in sorted((ROOT / "notebooks").glob("0*.ipynb"))
             for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    sources += [TransformerManager().transform_cell("".join(c["source"])) for c in cells]
    sources += [TransformerManager().transform_cell(entry["ko"]) for nb in table.values()
                for cell_id, entry in nb.items() if cell_id.startswith("code-")]
    pieces = []
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                pieces.append(node.value)
    return pieces


def quoted_messages(page: Path) -> list[str]:
    """The backticked first cell of each row of the page's troubleshooting tables."""
    messages, inside = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            inside = bool(TROUBLE.match(line))
        elif inside and line.startswith("|") and not re.match(r"^\|[\s:|-]+$", line):
            first = line.split(" | ")[0]
            messages += re.findall(r"`([^`]+)`", first)
    return messages


def unprintable(message: str, literals: list[str]) -> list[str]:
    """The pieces of ``message`` that stand in no literal of the code."""
    text = PREFIX.sub("", message)
    text = re.sub(r"'…'|\"…\"", "…", text)
    pieces = [p.strip() for p in text.split("…")]
    return [p for p in pieces if len(p) >= 4 and not any(p in lit for lit in literals)]


@pytest.mark.parametrize("page", QUOTING, ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_errors_are_ones_the_code_prints(page):
    messages = quoted_messages(page)
    assert len(messages) >= 5, f"{page.name}: no troubleshooting table with messages found"
    literals = literal_pieces()
    wrong = {m: unprintable(m, literals) for m in messages}
    wrong = {m: bad for m, bad in wrong.items() if bad}
    assert not wrong, "; ".join(f"{m!r}: the code never prints {bad}" for m, bad in wrong.items())
    assert all(max(map(len, PREFIX.sub("", m).split("…"))) >= 12 for m in messages)


def test_a_stale_message_is_caught():
    """The check itself: README.ko.md once quoted messages the code no longer prints."""
    literals = literal_pieces()
    for stale in ("fmtb run: error: Fashion-MNIST is not under … and could not be fetched.",
                  "run '…' has no trained model (… net.pt is missing): run notebook 05 first"):
        assert unprintable(stale, literals)
    assert not unprintable("fmtb run: error: unknown parameter '…' (did you mean '…'?)",
                           literals)


def test_anchor_slugs_follow_github():
    assert slug("Batch runs: `fmtb run`") == "batch-runs-fmtb-run"
    assert slug("문제 해결") == "문제-해결"
