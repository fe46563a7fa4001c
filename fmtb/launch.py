"""Where a notebook can be opened from: Colab, Binder, a class's JupyterHub, the stored
file, and its source in the repository. The web edition's launch buttons
(``site/build.py``) and the notebooks' own (``fmtb.maintainer.repository``, the cell
``md-launch`` below each title) both come from here.

Every address follows from one: the repository's, which is pyproject.toml's
``[project.urls] Repository`` (absent until the project is published) unless the
environment gives another in ``FMTB_REPOSITORY_URL`` (a fork, a mirror).
``FMTB_REPOSITORY_BRANCH`` names the branch (``main`` by default), and
``FMTB_HUB_URL`` a JupyterHub, which gets an nbgitpuller link. A button whose address
is not known is left out, never made a dead link: with no repository address, a page
offers only the download, and a notebook no button at all.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "md-launch"  # a notebook's launch links: the cell right after its title

LABELS = {
    "en": {"colab": "Run in Google Colab", "binder": "Launch on Binder",
           "hub": "Open in JupyterHub", "download": "Download notebook",
           "github": "View on GitHub", "source": "View source"},
    "ko": {"colab": "Google Colab에서 실행하기", "binder": "Binder에서 실행하기",
           "hub": "JupyterHub에서 열기", "download": "노트북 다운로드",
           "github": "GitHub에서 보기", "source": "소스 보기"},
}


@dataclass(frozen=True)
class Addresses:
    repository: str | None  # https://github.com/owner/name, without .git
    branch: str
    hub: str | None         # https://hub.example.edu

    @property
    def github(self) -> tuple[str, str] | None:
        """(owner, name) where the repository is on GitHub: Colab opens only those."""
        found = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", self.repository or "")
        return (found[1], found[2]) if found else None

    def describe(self) -> str:
        """What a build says it used."""
        if not self.repository:
            return ("launch buttons: none (no repository address: set FMTB_REPOSITORY_URL "
                    "or pyproject's [project.urls] Repository); each page offers the download")
        kinds = ["Binder", "source"] + (["Colab"] if self.github else []) + \
            (["JupyterHub " + self.hub] if self.hub else [])
        return (f"launch buttons: {', '.join(kinds)} from {self.repository} "
                f"(branch {self.branch})")


def declared_repository(pyproject: Path | None = None) -> str:
    """``[project.urls] Repository`` of the checkout's ``pyproject.toml`` (or of
    ``pyproject``), or "" where it is absent (outside a checkout too)."""
    import tomllib

    path = pyproject or ROOT / "pyproject.toml"
    if not path.is_file():
        return ""
    return tomllib.loads(path.read_text(encoding="utf-8"))["project"].get(
        "urls", {}).get("Repository", "")


def addresses(environ=os.environ) -> Addresses:
    """The addresses ``environ`` gives (``FMTB_REPOSITORY_URL``, ``FMTB_REPOSITORY_BRANCH``,
    ``FMTB_HUB_URL``), the repository's defaulting to :func:`declared_repository`."""
    hub = (environ.get("FMTB_HUB_URL") or "").strip().rstrip("/") or None
    return Addresses(repository(environ.get("FMTB_REPOSITORY_URL") or declared_repository()),
                     environ.get("FMTB_REPOSITORY_BRANCH") or "main", hub)


def repository(url: str | None) -> str | None:
    """``url`` as every address is built from it: no ``.git``, no trailing slash; None
    for none."""
    return (re.sub(r"(\.git)?/*$", "", url.strip()) or None) if url else None


def links(notebook: str, lang: str, where: Addresses,
          download: str | None = None) -> list[tuple[str, str, str]]:
    """``[(kind, label, address)]`` for ``notebook`` (its path in the repository,
    ``notebooks/ko/05_track_training.ipynb``), in ``lang``. ``download`` is the stored
    file's address where the caller has one (the site: its name, beside the page); else
    the repository's raw file, on GitHub (another host's has no one form: no download)."""
    words = LABELS[lang]
    out = []
    if where.repository:
        if where.github:
            owner, name = where.github
            out.append(("colab", words["colab"], "https://colab.research.google.com/github/"
                        f"{owner}/{name}/blob/{quote(where.branch)}/{notebook}"))
            binder = f"https://mybinder.org/v2/gh/{owner}/{name}/{quote(where.branch)}"
        else:
            binder = (f"https://mybinder.org/v2/git/{quote(where.repository + '.git', safe='')}"
                      f"/{quote(where.branch)}")
        out.append(("binder", words["binder"],
                    f"{binder}?{urlencode({'labpath': notebook})}"))
        if where.hub:
            folder = where.repository.rsplit("/", 1)[-1]
            query = urlencode({"repo": where.repository, "branch": where.branch,
                               "urlpath": f"lab/tree/{folder}/{notebook}"})
            out.append(("hub", words["hub"], f"{where.hub}/hub/user-redirect/git-pull?{query}"))
    if download is None and where.github:
        owner, name = where.github
        download = (f"https://raw.githubusercontent.com/{owner}/{name}/"
                    f"{quote(where.branch)}/{notebook}")
    if download:
        out.append(("download", words["download"], download))
    if where.github:
        out.append(("source", words["github"],
                    f"{where.repository}/blob/{quote(where.branch)}/{notebook}"))
    elif where.repository:  # another host: its file pages have no one form, so the repository
        out.append(("source", words["source"], where.repository))
    return out


def markdown(notebook: str, lang: str, where: Addresses) -> str:
    """The launch links as a notebook's markdown line (its cell ``md-launch``); "" where
    no repository address is known (a notebook carries no dead link)."""
    if not where.repository:
        return ""
    return " · ".join(f"[{label}]({href})" for _, label, href in links(notebook, lang, where))
