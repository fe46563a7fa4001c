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
QUOTING = [ROOT / "README.md", ROOT / "README.ko.md", ROOT / "docs" / "fmtb.md",
           ROOT / "docs" / "ko" / "fmtb.md"]
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

    from fmtb.maintainer.translate import as_python

    sources = [source.read_text(encoding="utf-8") for package in ("fmtb", "fmtb_helpers")
               for source in (ROOT / package).rglob("*.py")]
    table = json.loads((ROOT / "notebooks/ko/translations.json").read_text(encoding="utf-8"))
    cells = [c for nb in sorted((ROOT / "notebooks").glob("0*.ipynb"))
             for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    sources += [as_python("".join(c["source"])) for c in cells]
    sources += [as_python(entry["ko"]) for nb in table.values()
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


# --- what the pages quote of the code: make targets, fmtb's flags, its messages ---

CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)


def quoted_code(page: Path) -> list[str]:
    """Every inline code span and every line of every fenced block of ``page``."""
    text = page.read_text(encoding="utf-8")
    lines = [line for block in FENCE.findall(text) for line in block.splitlines()]
    return CODE_SPAN.findall(FENCE.sub("", text)) + lines


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.M))


def test_every_make_target_the_pages_quote_exists():
    targets = make_targets()
    assert {"setup", "run", "test", "unit", "lint"} <= targets
    missing = {f"{page.name}: make {name}" for page in PAGES for code in quoted_code(page)
               for name in re.findall(r"(?<![\w-])make ([a-z][\w-]*)", code)
               if name not in targets}
    assert not missing, sorted(missing)


def fmtb_flags() -> dict[str, set[str]]:
    """Each fmtb subcommand's option strings, from the parser itself."""
    import argparse

    from fmtb import cli

    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: {flag for action in p._actions for flag in action.option_strings}
            for name, p in sub.choices.items()}


def test_every_fmtb_flag_the_pages_quote_exists():
    flags = fmtb_flags()
    assert "--grid" in flags["sweep"] and "--jobs" in flags["run"]
    wrong = set()
    for page in PAGES:
        for code in quoted_code(page):
            for command, rest in re.findall(r"(?<![\w-])fmtb (run|sweep|data)\b([^|;&#`]*)",
                                            code):
                wrong |= {f"{page.name}: fmtb {command} {flag}"
                          for flag in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", rest)
                          if flag not in flags[command]}
    assert not wrong, sorted(wrong)


def output_quotes(page: Path) -> list[str]:
    """Code spans in the page's prose that quote fmtb's output: its one-line errors
    (``fmtb run: error: …``) and the lines it prints with a varying part (``…``)."""
    spans = CODE_SPAN.findall(FENCE.sub("", page.read_text(encoding="utf-8")))
    command = re.compile(r"^(fmtb|make|python|pip|\.venv|-)|[{}()=<>]")  # code, not output
    return [s for s in spans if PREFIX.match(s) or (
        "…" in s and " " in s.replace("…", "") and not command.search(s))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_output_the_prose_quotes_is_output_the_code_prints(page):
    literals = literal_pieces()
    wrong = {m: unprintable(m, literals) for m in output_quotes(page)}
    wrong = {m: bad for m, bad in wrong.items() if bad}
    assert not wrong, "; ".join(f"{m!r}: the code never prints {bad}" for m, bad in wrong.items())


# --- measured figures ---------------------------------------------------------

DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
FIGURE = re.compile(r"(?<![\w.-])(\d+(?:\.\d+)?) ?(s|GB|MB|초)(?![\w])")
BOUND = re.compile(r"(?:under|below|at most|within)\s+$|^\s*(?:이내|미만)")  # a limit, not a figure
UNITS = {"초": "s"}


def paragraphs(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [p.replace("\n", " ") for p in re.split(r"\n\s*\n|\n(?=\s*[-*] )", text)]


def measured(paragraph: str) -> list[tuple[str, str, str]]:
    """``(number, unit, date)`` for each figure of a sentence that gives its date."""
    found = []
    for sentence in re.split(r"(?<=[.!?다])\s+(?=[A-Z가-힣(*`])", paragraph):
        dates = DATE.findall(sentence)
        if len(dates) == 1:
            found += [(m[1], UNITS.get(m[2], m[2]), dates[0]) for m in FIGURE.finditer(sentence)
                      if not BOUND.search(sentence[max(0, m.start() - 9):m.start()])
                      and not BOUND.search(sentence[m.end():m.end() + 6])]
    return found


def dated(page: Path) -> list[tuple[str, str]]:
    """``(date, text)``: each paragraph of ``page`` under the date it or the paragraphs
    before it in its section give (a table below "Measured on <date>:")."""
    blocks, current = [], []
    for paragraph in paragraphs(page):
        if paragraph.lstrip().startswith("#"):
            current = []
        current = DATE.findall(paragraph) or current
        blocks += [(date, paragraph) for date in current]
    return blocks


def recorded(number: str, unit: str, date: str, benchmarks: list[tuple[str, str]]) -> bool:
    """Whether docs/benchmarks.md gives ``number`` (or a figure it rounds to, or a range
    that holds it) in ``unit`` under ``date``."""
    places = len(number.partition(".")[2])
    for when, paragraph in benchmarks:
        if when != date:
            continue
        for n, u in FIGURE.findall(paragraph):
            if UNITS.get(u, u) == unit and round(float(n), places) == float(number):
                return True
        for low, high in re.findall(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?) ?" + unit, paragraph):
            if float(low) <= float(number) <= float(high):
                return True
    return False


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "benchmarks.md"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_dated_figures_match_the_benchmarks(page):
    benchmarks = dated(ROOT / "docs" / "benchmarks.md")
    wrong = [f"{n} {u} ({d})" for p in paragraphs(page) for n, u, d in measured(p)
             if not recorded(n, u, d, benchmarks)]
    assert not wrong, f"{page.name} gives figures docs/benchmarks.md does not: {wrong}"


def test_the_checks_catch_what_they_are_for():
    assert "Open in a tab of its own" not in " ".join(literal_pieces())
    benchmarks = dated(ROOT / "docs" / "benchmarks.md")
    assert recorded("56", "s", "2026-11-28", benchmarks)  # fmtb run, 55.9 s that day
    assert not recorded("120", "s", "2026-11-28", benchmarks)
    assert measured("`fmtb run` took 56 s (measured 2026-11-28).") == [("56", "s", "2026-11-28")]
    assert "nosuchtarget" not in make_targets() and "--no-such-flag" not in fmtb_flags()["run"]


def test_the_architecture_table_names_every_module():
    """docs/architecture.md's module table: each module of fmtb and fmtb_helpers, and no
    module that is gone (``fmtb.maintainer.*`` stands for the maintainer's tools)."""
    named = set()
    for line in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines():
        first = line.split(" | ")[0]
        if not line.startswith("| `"):
            continue
        package = None
        for name in re.findall(r"`([\w.*]+)`", first):
            package = name.rsplit(".", 1)[0] if not name.startswith(".") else package
            named.add(package + name if name.startswith(".") else name)
    modules = {f"{package}.{path.stem}" for package in ("fmtb", "fmtb_helpers")
               for path in (ROOT / package).glob("*.py") if path.stem != "__init__"}
    assert sorted(modules - named) == [] and sorted(named - modules - {"fmtb.maintainer.*"}) == []


# --- the Korean pages in step with the English ones -----------------------------

# Each Korean page and the English page it mirrors; "sections" compares the number of
# second-level sections (one more or fewer is allowed), "commands" each command line of
# the English page's fenced blocks, "messages" each message its troubleshooting table
# quotes. docs/ko/fmtb.md mirrors only the English page's errors.
KOREAN_PAGES = [
    ("README.ko.md", "README.md", {"sections", "commands", "messages"}),
    ("docs/ko/teaching.md", "docs/teaching.md", {"sections", "commands"}),
    ("docs/ko/fmtb.md", "docs/fmtb.md", {"messages"}),
]


def sections(page: Path) -> list[str]:
    body = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return re.findall(r"^## (.+)$", body, flags=re.M)


def commands(page: Path) -> set[str]:
    """Each command line of the page's fenced blocks, its comment and spacing dropped;
    the Korean edition's notebooks/ko/ reads as notebooks/."""
    found = set()
    for block in FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                found.add(re.sub(r"\s+", " ", line.replace("notebooks/ko/", "notebooks/")))
    return found


# the ids sorted: the same in every worker (a set's order is not)
@pytest.mark.parametrize("korean, english, compared", KOREAN_PAGES,
                         ids=lambda x: "+".join(sorted(x)) if isinstance(x, set) else x)
def test_the_korean_pages_are_in_step_with_the_english_ones(korean, english, compared):
    ko, en = ROOT / korean, ROOT / english
    if "sections" in compared:
        assert abs(len(sections(ko)) - len(sections(en))) <= 1, (
            f"{korean} has {len(sections(ko))} sections, {english} {len(sections(en))}: "
            f"{sections(ko)} against {sections(en)}")
    if "commands" in compared:
        missing = commands(en) - commands(ko)
        assert not missing, f"{korean} lacks the commands of {english}: {sorted(missing)}"
    if "messages" in compared:
        text = ko.read_text(encoding="utf-8")
        rows = [line for line in text.splitlines() if line.startswith("| `")]
        missing = [m for m in quoted_messages(en) if not any(f"`{m}`" in row for row in rows)]
        assert not missing, f"{korean}'s tables lack rows of {english}: {missing}"


def test_the_page_comparison_catches_what_it_is_for(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("## A\n\n```bash\nfmtb run   --lang ko  # comment\n"
                    ".venv/bin/jupyter lab notebooks/ko/01.ipynb\n```\n", encoding="utf-8")
    assert sections(page) == ["A"]
    assert commands(page) == {"fmtb run --lang ko", ".venv/bin/jupyter lab notebooks/01.ipynb"}
