"""The Korean pages of the web edition in Korean: the theme's own words, and search that
finds a word whatever particle is attached to it.

Sphinx builds one site in one language, and its themes take their words (Search,
Contents, previous, next, …) from that language's message catalogue. The series' site
holds both editions, so ``site/conf.py`` hands the Korean pages the catalogue below
through Jinja's ``gettext`` (the templates' ``_()`` looks it up in each page's context).
The words are written here rather than taken from the themes' own Korean catalogues:
pydata-sphinx-theme ships none, and sphinx-book-theme's is machine-translated
("By the" → "에 의해").

Search: Sphinx has no Korean word splitter; words are split at spaces, so `모델을`
and `모델이` were two words, and searching for `모델` found neither. ``stem`` takes the
particle off a Hangul word, in the index (Python) and in the reader's query
(JavaScript, ``JS_STEMMER``), so `모델`, `모델을` and `모델이` are all found as `모델`.
English words are stemmed as before (Snowball's English stemmer).
"""
from __future__ import annotations

import gettext
import re

from sphinx import package_dir
from sphinx.search.en import SearchEnglish

WORDS = {
    "Search": "검색",
    "Search...": "검색...",
    "Contents": "목차",
    "On this page": "이 페이지의 내용",
    "previous": "이전",
    "next": "다음",
    "previous page": "이전 페이지",
    "next page": "다음 페이지",
    "Skip to main content": "본문으로 건너뛰기",
    "Back to top": "맨 위로",
    "Color mode": "화면 색",
    "Light": "밝게",
    "Dark": "어둡게",
    "System Settings": "시스템 설정",
    "Site navigation": "사이트 메뉴",
    "Section Navigation": "이 절의 메뉴",
    "Toggle navigation": "메뉴 열고 닫기",
    "Toggle primary sidebar": "왼쪽 메뉴 열고 닫기",
    "Toggle secondary sidebar": "오른쪽 목차 열고 닫기",
    "Version warning": "버전 경고",
    "Announcement": "알림",
    "Breadcrumb": "현재 위치",
    "Home": "처음",
    "Index": "색인",
    "General Index": "전체 색인",
    "Main": "주 메뉴",
    "Page": "페이지",
    "Copyright": "저작권",
    "By the": "만든 이:",
    "By": "만든 이:",
    "Last updated on": "마지막 수정",
    "Download this page": "이 페이지 내려받기",
}


class Korean(gettext.NullTranslations):
    """``WORDS`` for the Korean pages; any other word as it is."""

    def gettext(self, message: str) -> str:
        return WORDS.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


# The particles a Hangul word may end in, longest first; a word keeps at least one
# syllable. Both the index and the query take them off alike, so a word that merely
# ends like a particle (`길이`) is still found by its own spelling.
PARTICLES = ("에서는", "으로는", "에서도", "에게서", "이라는", "이라고", "에서", "으로", "에게",
             "까지", "부터", "처럼", "보다", "이나", "이며", "이고", "라는", "과의", "와의",
             "은", "는", "이", "가", "을", "를", "의", "에", "로", "와", "과", "도", "만", "나")
_HANGUL = re.compile(r"^[\uac00-\ud7a3]+$")


def strip_particle(word: str) -> str:
    if _HANGUL.match(word):
        for particle in PARTICLES:
            if word.endswith(particle) and len(word) > len(particle):
                return word[: -len(particle)]
    return word


JS_STEMMER = """
window.KoreanParticles = %(particles)s;
window.EnglishOrKoreanStemmer = function () {
  const english = new EnglishStemmer();
  this.stemWord = (word) => {
    if (/^[\\uac00-\\ud7a3]+$/.test(word)) {
      for (const particle of window.KoreanParticles) {
        if (word.endsWith(particle) && word.length > particle.length)
          return word.slice(0, -particle.length);
      }
      return word;
    }
    return english.stemWord(word);
  };
};
window.Stemmer = window.EnglishOrKoreanStemmer;
"""


class SearchEnglishAndKorean(SearchEnglish):
    """English search as Sphinx does it, and Hangul words without their particles."""

    js_stemmer_rawcode = ""  # so that Sphinx embeds js_stemmer_code, below, as it is

    def stem(self, word: str) -> str:
        return strip_particle(word) if _HANGUL.match(word) else super().stem(word)


def _js_stemmer() -> str:
    """Snowball's English stemmer as Sphinx ships it for its English search, then ours."""
    import json
    from pathlib import Path

    shipped = Path(package_dir) / "search" / "minified-js"
    return "\n".join((
        (shipped / "base-stemmer.js").read_text(encoding="utf-8"),
        (shipped / "english-stemmer.js").read_text(encoding="utf-8"),
        JS_STEMMER % {"particles": json.dumps(PARTICLES, ensure_ascii=False)},
    ))


SearchEnglishAndKorean.js_stemmer_code = _js_stemmer()
