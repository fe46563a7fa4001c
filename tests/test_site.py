"""The web edition (`make site`), built once and read in Debian's Chromium over loopback
http, as a reader would: every page loads, every picture decodes, every link on the site
leads somewhere, nothing is fetched from the network, each notebook's page offers its
stored .ipynb, the set-up and its twin in the other language, and a phone shows the pages
without sideways scrolling. Screenshots go to build/screenshots/site-*.png."""
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from fmtb.maintainer import chromium

from support import fenced_context

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "build" / "site"
SHOTS = ROOT / "build" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(chromium.CHROMIUM).exists(),
                       reason=f"{chromium.CHROMIUM} is missing: apt-get install chromium"),
]

NOTEBOOKS = {lang: sorted(p.relative_to(ROOT).with_suffix(".html").as_posix()
                          for p in (ROOT / "notebooks" / sub).glob("0[1-6]_*.ipynb"))
             for lang, sub in (("en", ""), ("ko", "ko"))}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# the addresses a teacher's build is given (fmtb/launch.py); nothing is fetched from them
REPOSITORY, HUB = "https://github.com/example-org/fmtb", "https://hub.example.edu"
BUTTONS = {"en": ("Run in Google Colab", "Launch on Binder", "Open in JupyterHub",
                  "Download notebook", "View on GitHub"),
           "ko": ("Google Colab에서 실행하기", "Binder에서 실행하기", "JupyterHub에서 열기",
                  "노트북 다운로드", "GitHub에서 보기")}


@pytest.fixture(scope="module")
def site():
    """The site, built by the script `make site` runs with a repository and a hub
    address, served on a loopback port."""
    env = {**os.environ, "FMTB_REPOSITORY_URL": REPOSITORY + ".git", "FMTB_HUB_URL": HUB}
    done = subprocess.run([sys.executable, str(ROOT / "site" / "build.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"from {REPOSITORY} (branch main)" in done.stdout  # it says what it used
    assert (SITE / "index.html").is_file()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


PAGE_FACTS = """() => Promise.all([...document.images].map(img => {
    img.loading = 'eager';
    return img.decode().then(() => [img.src, img.naturalWidth],
                             () => [img.src, img.naturalWidth]);
})).then(images => ({
    lang: document.documentElement.lang,
    images,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    buttons: [...document.querySelectorAll('.fmtb-launch a')].map(
        a => [a.textContent.trim(), a.href]),
    words: [...document.querySelectorAll('[aria-label], [title], [placeholder]')].flatMap(
        e => [e.getAttribute('aria-label'), e.getAttribute('title'),
              e.getAttribute('placeholder')]).filter(Boolean).concat(
        [...document.querySelectorAll('.search-button__default-text, .onthispage, '
                                      + '.prev-next-subtitle')].map(e => e.textContent.trim())),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    frames: document.querySelectorAll('iframe').length,
    width: document.documentElement.scrollWidth,
    text: document.body.innerText,
    prev: document.querySelector('a.left-prev')?.href ?? null,
    next: document.querySelector('a.right-next')?.href ?? null,
}))"""


# axe-core's own preload re-fetches stylesheets and resolves their @imports against the
# page, not the sheet (a 404 for /basic.css): the browser has already loaded them.
AXE_OPTIONS = {"resultTypes": ["violations"], "preload": False}
# At the desktop width every rule runs again, but colour contrast only outside the
# article: the article's colours are the same at both widths (the phone's pass checks
# them), what the wider layout adds is the sidebars and the header. Contrast over a
# notebook's article is most of axe's time (3 of 3.6 s on 05's page).
ARTICLE = "article.bd-article"
DESKTOP_AXE = ((None, {**AXE_OPTIONS, "rules": {"color-contrast": {"enabled": False}}}),
               ({"exclude": [[ARTICLE]]},
                {**AXE_OPTIONS, "runOnly": {"type": "rule", "values": ["color-contrast"]}}))


def grave(results) -> list[str]:
    """axe-core's serious and critical violations on a page: rule, impact, where."""
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="module")
def crawl(site):
    """Every page reachable from the home page, read at a phone's width: its facts, the
    files it links that are not pages, and what went wrong on the way."""
    from playwright.sync_api import sync_playwright

    pages, files, failed, outside = {}, {}, [], []

    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    with sync_playwright() as p:
        browser = chromium.launch(p, webgl=False)
        try:
            context = fenced_context(
                browser, PHONE, lambda url: url.startswith((site, "data:", "blob:", "about:")),
                outside)
            tab = context.new_page()
            tab.on("response", lambda r: r.status >= 400 and failed.append((r.url, r.status)))
            todo, seen = deque([site + "index.html"]), {site + "index.html"}
            while todo:
                url = todo.popleft()
                response = tab.goto(url, wait_until="load")
                assert response and response.status == 200, (url, response and response.status)
                facts = tab.evaluate(PAGE_FACTS)
                facts["axe"] = {"phone": grave(axe.run(tab, options=AXE_OPTIONS))}
                pages[url] = facts
                for link in facts["links"]:
                    target = urldefrag(link).url
                    if not target.startswith(site) or target in seen:
                        continue
                    seen.add(target)
                    if target.endswith((".html", "/")):
                        todo.append(target)
                    else:
                        files[target] = context.request.get(target)
                        files[target] = (files[target].status, files[target].body())
            tab.set_viewport_size(DESKTOP)
            for url, facts in pages.items():
                tab.goto(url, wait_until="load")
                assert tab.locator(ARTICLE).count() == 1, url  # what the contrast pass leaves
                facts["axe"]["desktop"] = [v for context, options in DESKTOP_AXE
                                           for v in grave(axe.run(tab, context, options))]
        finally:
            browser.close()
    return {"site": site, "pages": pages, "files": files, "failed": failed,
            "outside": outside}


def test_every_page_loads_with_its_pictures_and_nothing_from_the_network(crawl):
    assert len(crawl["pages"]) >= 14
    assert not crawl["failed"], crawl["failed"]
    assert not crawl["outside"], f"the site fetched from beyond itself: {crawl['outside']}"
    for url, facts in crawl["pages"].items():
        broken = [src for src, width in facts["images"] if not width]
        assert not broken, f"{url}: pictures that do not decode: {broken}"
    shown = {src for facts in crawl["pages"].values() for src, _ in facts["images"]}
    assert sum(src.endswith(".png") for src in shown) >= 11  # docs/img, and the figures


def test_every_link_on_the_site_resolves(crawl):
    site, pages = crawl["site"], crawl["pages"]
    for target, (status, _) in crawl["files"].items():
        assert status == 200, (target, status)
    for url, facts in pages.items():
        for link in facts["links"]:
            target, fragment = urldefrag(link)
            if not target.startswith(site):
                continue
            assert target in pages or target in crawl["files"], (url, link)
            if fragment and target in pages:
                assert fragment in pages[target]["ids"], f"{url}: {link} has no #{fragment}"


def test_each_notebook_page_offers_its_notebook_setup_and_twin(crawl):
    site, pages = crawl["site"], crawl["pages"]
    offering = [url for url, facts in pages.items()
                if any(urldefrag(link).url.endswith(".ipynb") for link in facts["links"])]
    assert len(offering) >= 12
    assert sum(pages[url]["lang"] == "ko" for url in offering) >= 6
    for lang, other in (("en", "ko"), ("ko", "en")):
        assert len(NOTEBOOKS[lang]) == 6
        for name, twin in zip(NOTEBOOKS[lang], NOTEBOOKS[other], strict=True):
            facts = pages[site + name]
            assert facts["lang"] == lang, name
            links = {urldefrag(link).url for link in facts["links"]}
            stored = ROOT / Path(name).with_suffix(".ipynb")
            status, body = crawl["files"][site + stored.relative_to(ROOT).as_posix()]
            assert site + stored.relative_to(ROOT).as_posix() in links, name
            assert status == 200 and body == stored.read_bytes(), name
            assert json.loads(body)["cells"]
            assert site + twin in links, f"{name} has no link to {twin}"
            readme = "README.ko.html" if lang == "ko" else "README.html"
            assert any(link.startswith(site + readme + "#") for link in facts["links"]), name
            assert not facts["frames"], f"{name} keeps a dead TensorBoard frame"


def test_each_edition_reads_in_series_order(crawl):
    site, pages = crawl["site"], crawl["pages"]
    for names in NOTEBOOKS.values():
        chain = [None, *names, None]
        for before, name, after in zip(chain, chain[1:], chain[2:], strict=False):
            facts = pages[site + name]
            assert facts["prev"] == (site + before if before else site + "index.html"), name
            assert facts["next"] == (site + after if after else None), name


def test_the_home_page_says_what_it_is_and_links_everything(crawl):
    site = crawl["site"]
    home = crawl["pages"][site + "index.html"]
    assert "TensorBoard" in home["text"] and "Fashion-MNIST" in home["text"]
    assert "make run" in home["text"] and "jupyter lab" in home["text"]
    links = {urldefrag(link).url for link in home["links"]}
    for name in NOTEBOOKS["en"] + NOTEBOOKS["ko"]:
        assert site + name in links, name
    for page in [*ROOT.glob("README*.md"), *ROOT.glob("CONTRIBUTING*.md"),
                 *(ROOT / "docs").rglob("*.md")]:
        assert site + page.relative_to(ROOT).with_suffix(".html").as_posix() in links, page


def test_a_phone_shows_every_page_without_sideways_scrolling(crawl):
    wide = {url: facts["width"] for url, facts in crawl["pages"].items()
            if facts["width"] > PHONE["width"]}
    assert not wide, f"wider than {PHONE['width']} px: {wide}"


def test_screenshots_of_the_home_page_and_notebook_05(site):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = {"home-en": "index.html", "home-ko": "index.html#korean-edition",
             "05-en": NOTEBOOKS["en"][4], "05-ko": NOTEBOOKS["ko"][4]}
    with sync_playwright() as p:
        browser = chromium.launch(p, webgl=False)
        try:
            for device, viewport in (("desktop", {"width": 1280, "height": 900}),
                                     ("phone", PHONE)):
                tab = browser.new_page(viewport=viewport)
                for shot, path in shots.items():
                    tab.goto(site + path, wait_until="load")
                    if shot == "05-ko":
                        assert tab.evaluate("document.documentElement.lang") == "ko"
                        assert re.search("[가-힣]", tab.inner_text("h1"))
                    target = SHOTS / f"site-{shot}-{device}.png"
                    tab.screenshot(path=target)
                    assert target.stat().st_size > 10000
                tab.close()
        finally:
            browser.close()


def test_axe_finds_nothing_serious_on_any_page_at_either_width(crawl):
    """axe-core (through axe-playwright-python) on every page, at a phone's width and a
    desktop's: contrast, names of links and buttons, alt text, landmarks, focus."""
    assert len(crawl["pages"]) >= 25
    found = {f"{url} ({width})": problems for url, facts in crawl["pages"].items()
             for width, problems in facts["axe"].items() if problems}
    assert not found, found


def test_each_notebook_page_has_launch_buttons_in_its_language(crawl):
    site, pages = crawl["site"], crawl["pages"]
    for lang in ("en", "ko"):
        for name in NOTEBOOKS[lang]:
            stored = Path(name).with_suffix(".ipynb").as_posix()
            buttons = dict(pages[site + name]["buttons"])
            assert tuple(buttons) == BUTTONS[lang], (name, list(buttons))
            colab, binder, hub, download, source = buttons.values()
            assert colab == f"https://colab.research.google.com/github/example-org/fmtb/blob/main/{stored}"
            assert binder.startswith("https://mybinder.org/v2/gh/example-org/fmtb/main?labpath=")
            assert urllib.parse.parse_qs(urllib.parse.urlsplit(binder).query) == \
                {"labpath": [stored]}
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(hub).query)
            assert hub.startswith(HUB + "/hub/user-redirect/git-pull?"), hub
            assert query == {"repo": [REPOSITORY], "branch": ["main"],
                             "urlpath": [f"lab/tree/fmtb/{stored}"]}, query
            assert download == site + stored
            assert source == f"{REPOSITORY}/blob/main/{stored}"


def test_korean_pages_say_the_themes_words_in_korean(crawl):
    site, pages = crawl["site"], crawl["pages"]
    for name in NOTEBOOKS["ko"]:
        words = set(pages[site + name]["words"])
        assert {"검색", "이 페이지의 내용"} <= words, (name, sorted(words))
        assert not {"Search", "Search...", "Contents", "On this page", "previous page",
                    "next page", "Color mode"} & words, (name, sorted(words))
    english = set(pages[site + NOTEBOOKS["en"][2]]["words"])
    assert {"Search", "On this page"} <= english  # the English pages keep theirs


def test_korean_search_finds_a_word_whatever_its_particle(site):
    """`모델을` finds the pages that write `모델이`, `모델은` or `모델`: the index and the
    query both drop the particle (site/korean.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium.launch(p, webgl=False)
        try:
            tab = browser.new_page()
            found = {}
            for query in ("모델을", "모델", "손실을", "TensorBoard"):
                tab.goto(site + "search.html?q=" + urllib.parse.quote(query))
                tab.wait_for_selector("#search-results p.search-summary", timeout=20000)
                hrefs = tab.eval_on_selector_all("#search-results ul.search li a",
                                                 "links => links.map(a => a.href)")
                found[query] = {urldefrag(a).url.removeprefix(site) for a in hrefs}
        finally:
            browser.close()
    korean = {page for page in found["모델을"] if page.startswith("notebooks/ko/")}
    assert len(korean) >= 4, found["모델을"]
    assert found["모델을"] == found["모델"]
    assert any(p.startswith("notebooks/ko/05") for p in found["손실을"]), found["손실을"]
    assert len(found["TensorBoard"]) >= 12  # English search still works


def test_without_an_address_a_page_offers_only_the_download():
    from fmtb import launch

    where = launch.addresses({})
    assert where.repository == (launch.declared_repository() or None)  # None until published
    if where.repository is None:
        assert [kind for kind, *_ in launch.links("notebooks/01_x.ipynb", "en", where,
                                                  download="01_x.ipynb")] == ["download"]
        assert "none" in where.describe()
    elsewhere = launch.addresses({"FMTB_REPOSITORY_URL": "https://git.example.org/a/fmtb",
                                  "FMTB_HUB_URL": HUB + "/"})
    kinds = [kind for kind, *_ in launch.links("notebooks/01_x.ipynb", "ko", elsewhere,
                                               download="01_x.ipynb")]
    assert kinds == ["binder", "hub", "download", "source"]  # Colab opens GitHub only
