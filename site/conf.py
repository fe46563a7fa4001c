"""Sphinx configuration of the series' web edition (`make site`; docs/site.md).

Sphinx reads the sources site/build.py assembles in build/site-src (the stored notebooks
of both editions, README*, CONTRIBUTING*, docs/ and what they link to) with this folder
as its configuration folder."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import korean as words_ko  # noqa: E402  (site/korean.py, beside this file)

project = "Fashion-MNIST with TensorBoard"
author = "the fmtb contributors"
copyright = "the fmtb contributors"
language = "en"

extensions = ["myst_nb"]
nb_execution_mode = "off"          # the stored outputs, as they are
myst_heading_anchors = 3           # README.md#quick-start and the like resolve
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["myst.header"]  # notebooks' sections start at ##, after their # title

html_theme = "sphinx_book_theme"
html_title = "Fashion-MNIST with TensorBoard"
html_static_path = ["static"]
templates_path = ["templates"]  # three of the book theme's components, their words translatable
html_css_files = ["fmtb.css"]
html_copy_source = False           # the .ipynb to download is the stored one (extra path)
html_show_sourcelink = False
html_last_updated_fmt = None
html_extra_path = [str(ROOT / "build" / "site-notebooks")]
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,  # it would offer the site's copy; each page links the stored one
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
}


def korean(pagename: str) -> bool:
    return pagename.startswith("notebooks/ko/") or pagename.endswith(".ko") \
        or "/ko/" in f"/{pagename}"


def _page(app, pagename, templatename, context, doctree):
    """<html lang="ko"> and the theme's words in Korean (site/korean.py) on the Korean
    edition's pages; each edition's previous/next links run from the home page through
    its six notebooks and stop at its last."""
    if korean(pagename):
        context["language"] = "ko"
        words = words_ko.Korean()
        context["gettext"], context["ngettext"] = words.gettext, words.ngettext
        context["translate"] = words.gettext  # sphinx-book-theme's own lookup
        context["theme_search_bar_text"] = words.gettext("Search...")
    number = re.fullmatch(r"notebooks/(?:ko/)?0([1-6])_\w+", pagename)
    if number and number[1] == "1":
        context["prev"] = {"link": app.builder.get_relative_uri(pagename, "index"),
                           "title": html_title}
    if number and number[1] == "6":
        context["next"] = None


def setup(app):
    app.add_search_language(words_ko.SearchEnglishAndKorean)  # replaces "en": Korean too
    app.connect("html-page-context", _page, priority=900)  # after the themes' own
