"""Build the series' web edition into build/site (`make site`; docs/site.md says why so).

From the stored notebooks of both editions (nothing is executed), README*, CONTRIBUTING*,
docs/ and the repository files they link to, assembled in build/site-src as they lie in
the repository (so their relative links hold), with two changes to the site's copies of
the notebooks only:
- below each title, a line linking the stored .ipynb to download, the README's set-up and
  the page's twin in the other language;
- `%tensorboard`'s frame (an iframe on a localhost port, dead on a static page) becomes a
  sentence pointing at the picture of the dashboard the notebook shows below it.
The stored notebooks themselves go to build/site-notebooks, which Sphinx copies beside
their pages (html_extra_path in site/conf.py).

    python site/build.py
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from mdit_py_plugins.anchors.index import slugify

from fmtb import folders, launch

SITE = Path(__file__).resolve().parent
ROOT = SITE.parent
BUILD = ROOT / "build"
SRC, OUT, RAW = BUILD / "site-src", BUILD / "site", BUILD / "site-notebooks"
DOCTREES = BUILD / "site-doctrees"

# each edition's README, and how its set-up section may be named (if none says `make run`)
SETUP = {"en": ("README.md", r"start|set.?up|install"),
         "ko": ("README.ko.md", r"시작|설치|준비")}
WORDS = {
    "en": {"launch": "Open this notebook", "setup": "set up to run it",
           "other": "한국어", "board": (
               "*Here the notebook shows TensorBoard itself, live, from a server on the "
               "learner's machine; a web page has no server to show. The picture below "
               "is what it showed after a default run.*")},
    "ko": {"launch": "이 노트북 열기", "setup": "실행 준비",
           "other": "English", "board": (
               "노트북을 실행하면 여기에 TensorBoard가 그대로 나타납니다. 학습자의 컴퓨터에서 "
               "실행되는 서버를 보여주는 것이라 웹 페이지에서는 볼 수 없으므로, 기본 설정으로 "
               "실행한 뒤의 화면을 아래 스크린숏으로 대신합니다.")},  # Korean is not set in italics
}
SKIP_DIRS = {".git", ".venv", "build", "data", "runs", "node_modules"}


def notebooks(lang: str) -> list[Path]:
    return folders.notebooks(ROOT / "notebooks" / ("ko" if lang == "ko" else ""))


def pages() -> list[Path]:
    """The Markdown pages: README*, CONTRIBUTING* and everything under docs/."""
    return sorted([*ROOT.glob("README*.md"), *ROOT.glob("CONTRIBUTING*.md"),
                   *(ROOT / "docs").rglob("*.md")])


def setup_section(readme: Path, pattern: str) -> str:
    """The anchor of the README's set-up: the section that says `make run`, else the
    first heading that ``pattern`` matches; "" if neither."""
    heading, named = None, None
    for line in readme.read_text().splitlines():
        found = re.match(r"#{2,3}\s+(.*)", line)
        if found:
            heading = found[1]
            if named is None and re.search(pattern, heading, re.I):
                named = heading
        elif heading and "make run" in line:
            return "#" + slugify(heading)
    return "#" + slugify(named) if named else ""


def setup_link(lang: str, page: Path) -> str:
    """The README's set-up section, relative to ``page`` in the site's sources."""
    name, pattern = SETUP[lang]
    if not (ROOT / name).exists():
        name = "README.md"
    up = [".."] * (len(page.relative_to(ROOT).parts) - 1)
    return Path(*up, name).as_posix() + setup_section(ROOT / name, pattern)


def is_tensorboard_frame(output) -> bool:
    return "tensorboard-frame" in output.get("data", {}).get("text/html", "")


def buttons(path: Path, lang: str, where: launch.Addresses) -> str:
    """The launch buttons (fmtb/launch.py): Colab, Binder, the class's hub, download, source;
    each in the page's language, each address one the build knows."""
    out = []
    stored = path.relative_to(ROOT).as_posix()
    for kind, label, href in launch.links(stored, lang, where, download=path.name):
        extra = " download" if kind == "download" else ""
        out.append(f'<a class="fmtb-button fmtb-{kind}" href="{html.escape(href)}"{extra}>'
                   f'{html.escape(label)}</a>')
    return (f'<nav class="fmtb-launch" aria-label="{WORDS[lang]["launch"]}">'
            + "".join(out) + "</nav>")


def site_copy(path: Path, lang: str, where: launch.Addresses):
    """The notebook as its page shows it: the launch buttons (in place of the notebook's
    own, md-launch) and a links line below its title, no dead frame."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [cell for cell in nb.cells if cell.get("id") != launch.CELL_ID]
    other = (ROOT / "notebooks" / path.name if lang == "ko"
             else ROOT / "notebooks" / "ko" / path.name)
    words = WORDS[lang]
    links = [f'[{words["setup"]}]({setup_link(lang, path)})']
    if other.exists():
        twin = Path("..") / path.name if lang == "ko" else Path("ko") / path.name
        links.append(f'[{words["other"]}]({twin})')
    line = buttons(path, lang, where) + "\n\n" + " · ".join(links)
    first = nb.cells[0]
    title, _, rest = first.source.partition("\n")
    if first.cell_type == "markdown" and title.startswith("# "):
        first.source = f"{title}\n\n{line}\n{rest}"
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(line))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("display_data",
                                                   data={"text/markdown": words["board"]})
                            if is_tensorboard_frame(o) else o for o in cell.outputs]
    return nb


def _local(target: str, where: Path) -> Path | None:
    """The repository path a relative link points at; None for addresses and anchors."""
    target = target.split("#")[0]
    if not target or re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
        return None
    return (where.parent / target).resolve()


def unlink_folders(text: str, where: Path) -> str:
    """[text](a folder or a missing path of the repository) -> text: a static site has
    no page for a folder of code, and a dead link helps no reader."""
    def keep(match):
        path = _local(match[2], where)
        return match[1] if path is not None and not path.is_file() else match[0]
    return re.sub(r"(?<!!)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?\)", keep, text)


def linked_files(text: str, where: Path) -> set[Path]:
    """Files of the repository that ``text`` (at ``where``) links to or shows."""
    found = set()
    for target in re.findall(r"\]\(\s*<?([^)\s>]+)", text):
        path = _local(target, where)
        if path is not None and path.is_file() and ROOT in path.parents and \
                not SKIP_DIRS & set(path.relative_to(ROOT).parts):
            found.add(path)
    return found


def place(path: Path, root: Path = SRC) -> Path:
    target = root / path.relative_to(ROOT)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def assemble(where: launch.Addresses) -> None:
    for folder in (SRC, RAW, OUT, DOCTREES):
        shutil.rmtree(folder, ignore_errors=True)
    SRC.mkdir(parents=True)
    index = (SITE / "index.md").read_text()
    (SRC / "index.md").write_text(index.replace("@SETUP_EN@",
                                                setup_link("en", ROOT / "index.md")))
    linked = set()
    for lang in ("en", "ko"):
        for path in notebooks(lang):
            shutil.copy2(path, place(path, RAW))
            nb = site_copy(path, lang, where)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = unlink_folders(cell.source, path)
                    linked |= linked_files(cell.source, path)
            nbformat.write(nb, place(path))
    for path in pages():
        text = unlink_folders(path.read_text(), path)
        place(path).write_text(text)
        linked |= linked_files(text, path)
    for path in linked:   # pictures, LICENSE, ...: what is not a page already
        if not place(path).exists():
            shutil.copy2(path, place(path))


def main() -> int:
    start = time.monotonic()
    where = launch.addresses()
    print(where.describe(), flush=True)
    assemble(where)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "auto",
                           "-c", str(SITE), "-d", str(DOCTREES), str(SRC), str(OUT)])
    if done.returncode:
        return done.returncode
    print(f"site: {OUT.relative_to(ROOT)}/index.html in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
