"""The Korean edition, notebooks/ko: written by ``fmtb.maintainer.translate`` from the
English notebooks and notebooks/ko/translations.json, so its code cells run the
English code (with the Korean tutorial's comments and docstrings) and its prose is
Korean, written to the conventions of tutorials.pytorch.kr; a change to an English
cell shows here as a stale translation."""
import ast
import io
import json
import os
import re
import shutil
import tokenize
from pathlib import Path

import nbformat
import pytest

from fmtb import runner
from fmtb.maintainer import save, translate

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KO = NOTEBOOKS / "ko"
ENGLISH = sorted(NOTEBOOKS.glob("0[1-6]_*.ipynb"))
KOREAN = sorted(KO.glob("0[1-6]_*.ipynb"))
PAIRS = [(en, KO / en.name) for en in ENGLISH]
TABLE = json.loads((KO / "translations.json").read_text(encoding="utf-8"))
KOREAN_TUTORIAL = "https://tutorials.pytorch.kr/intermediate/tensorboard_tutorial.html"
# The Korean tutorial's code comments, as it writes them, where the notebooks keep the
# code they comment (its spacing errors "여러번" and "실행하는데" are spelt "여러 번" and
# "실행하는 데" here, each flagged "수정:"; the seed test below checks every one of them
# against the seed itself).
KOREAN_TUTORIAL_COMMENTS = [
    "분류 결과를 위한 상수", "이미지를 보여주기 위한 헬퍼(helper) 함수",
    "(아래 `plot_classes_preds` 함수에서 사용)",
    '기본 `log_dir` 은 "runs"이며, 여기서는 더 구체적으로 지정하였습니다',
    "임의의 학습 이미지를 가져옵니다", "이미지 그리드를 만듭니다.", "이미지를 보여줍니다.",
    "tensorboard에 기록합니다.", "헬퍼(helper) 함수",
    "임의의 이미지들과 정답(target) 인덱스를 선택합니다",
    "각 이미지의 분류 라벨(class label)을 가져옵니다", "임베딩(embedding) 내역을 기록합니다",
    "헬퍼 함수", "배치에서 이미지를 가져와 예측 결과 / 정답과 함께 표시(plot)합니다",
    "데이터셋을 여러 번 반복 (수정:", "[inputs, labels]의 목록인 data로부터 입력을 받은 후;",
    "변화도(Gradient) 매개변수를 0으로 만들고", "순전파 + 역전파 + 최적화를 한 후",
    "...학습 중 손실(running loss)을 기록하고",
    "...무작위 미니배치(mini-batch)에 대한 모델의 예측 결과를 보여주도록",
    "Matplotlib Figure를 기록합니다", "모든 정밀도-재현율(precision-recall; pr) 곡선을 그립니다",
    "매 1000 미니배치마다...", "1. 예측 확률을 test_size x num_classes 텐서로 가져옵니다",
    "실행하는 데 10초 이하 소요 (수정:"]
# The comments the Korean tutorial keeps in English, kept in English here too.
KOREAN_TUTORIAL_ENGLISH_COMMENTS = [
    "imports", "transforms", "datasets", "dataloaders", "unnormalize",
    "convert output probabilities to predicted class"]
HANGUL = re.compile("[\uac00-\ud7a3]")
PARTICLE = r" (?:은|는|이|가|을|를|의|에|와|과|로|으로|에서|도)(?=[\s.,:)])"


def load(path):
    return nbformat.read(path, as_version=4)


def cells(nb, kind):
    return [c for c in nb.cells if c.cell_type == kind]


def markdown(path) -> str:
    return "\n".join(c.source for c in cells(load(path), "markdown"))


def prose(path) -> str:
    """A notebook's markdown with each code span as CODE and without link targets."""
    text = re.sub(r"`[^`]*`", "CODE", markdown(path))
    return re.sub(r"\]\([^)]*\)", "]", text)


python = translate.as_python


def comments(source: str) -> list[str]:
    """A cell's comments, but for the marks that are the same in both editions: #@save
    and nbgrader's ### BEGIN SOLUTION / ### END SOLUTION (the exercises)."""
    marks = {save.TAG, "### BEGIN SOLUTION", "### END SOLUTION"}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(python(source)).readline)
            if t.type == tokenize.COMMENT and t.string not in marks]


def docstrings(source: str) -> dict[str, str]:
    """The docstring of each function a cell defines, by name."""
    return {node.name: ast.get_docstring(node) for node in ast.walk(ast.parse(python(source)))
            if isinstance(node, ast.FunctionDef) and ast.get_docstring(node)}


def hangul_share(text: str) -> float:
    """Hangul among all letters."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum("\uac00" <= ch <= "\ud7a3" for ch in letters) / len(letters)


def pictures(text: str) -> dict[str, list[str]]:
    """Each picture's file name and the tags its caption names in backticks."""
    return {Path(target).name: sorted(re.findall(r"`([^`]+)`", caption))
            for caption, target in re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", text)}


def test_six_korean_notebooks_beside_the_english_ones():
    assert [p.name for p in KOREAN] == [p.name for p in ENGLISH]
    assert len(KOREAN) == 6


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.stem)
def test_every_english_markdown_cell_has_a_fresh_translation(path):
    table = TABLE.get(path.name, {})
    for cell in cells(load(path), "markdown"):
        assert cell.id in table, f"{path.name}: markdown cell {cell.id} is not translated"
    for cell in load(path).cells:
        if cell.id in table:
            assert table[cell.id]["en_sha256"] == translate.sha256(cell.source), (
                f"{path.name}: {cell.cell_type} cell {cell.id} changed in English; update its "
                f"Korean text and en_sha256 in notebooks/ko/translations.json")
            assert table[cell.id]["ko"].strip()


def test_no_translation_of_a_cell_the_english_notebooks_lack():
    english = {p.name: {c.id for c in load(p).cells} for p in ENGLISH}
    for name, table in TABLE.items():
        assert name in english, f"translations.json names a notebook {name} that is gone"
        assert set(table) <= english[name], f"{name}: {set(table) - english[name]} are gone"


def test_the_korean_notebooks_are_what_the_generator_writes():
    written = translate.generate()
    assert sorted(written) == KOREAN
    for path, text in written.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} was edited by hand or is out of date: edit "
            f"notebooks/ko/translations.json and run python -m fmtb.maintainer.translate")


@pytest.mark.parametrize("en, ko", PAIRS, ids=lambda p: p.stem)
def test_code_cells_run_the_english_code(en, ko):
    """The same code as Python parses it (comments and docstrings aside), with the
    English cell's outputs, which nbval then checks the Korean code reproduces."""
    en_nb, ko_nb = load(en), load(ko)
    assert [(c.cell_type, c.id) for c in ko_nb.cells] == [(c.cell_type, c.id) for c in en_nb.cells]
    en_code, ko_code = cells(en_nb, "code"), cells(ko_nb, "code")
    assert len(ko_code) == len(en_code)
    for e, k in zip(en_code, ko_code, strict=True):
        strings = translate.STRINGS_TAG not in e.metadata.get("tags", [])
        assert translate.code_tree(k.source, strings) == translate.code_tree(e.source, strings), (
            f"{ko.name} {k.id}: the code differs from the English cell's")
        assert k.outputs == e.outputs, f"{ko.name} {k.id}: outputs differ"
        assert k.execution_count == e.execution_count, f"{ko.name} {k.id}: execution count"
        assert k.metadata.get("tags") == e.metadata.get("tags"), f"{ko.name} {k.id}: tags"
    assert ko_nb.metadata == en_nb.metadata


@pytest.mark.parametrize("en, ko", PAIRS, ids=lambda p: p.stem)
def test_comments_and_docstrings_are_in_korean(en, ko):
    """Every English code cell with a comment or a docstring has a Korean source, and
    every comment and docstring the Korean edition shows is in Korean."""
    table = TABLE[en.name]
    for e, k in zip(cells(load(en), "code"), cells(load(ko), "code"), strict=True):
        if comments(e.source) or docstrings(e.source):
            assert e.id in table, f"{en.name} {e.id} has comments but no Korean source"
        for text in comments(k.source) + list(docstrings(k.source).values()):
            if text.removeprefix("# ") in KOREAN_TUTORIAL_ENGLISH_COMMENTS:
                continue  # the Korean tutorial's own English comment
            assert HANGUL.search(text), f"{ko.name} {k.id}: {text!r} is not in Korean"


def test_the_korean_tutorials_comments_and_docstrings_are_there():
    code = "\n".join(c.source for path in KOREAN for c in cells(load(path), "code"))
    for comment in KOREAN_TUTORIAL_COMMENTS + KOREAN_TUTORIAL_ENGLISH_COMMENTS:
        assert f"# {comment}" in code, comment
    documented = {}
    for path in KOREAN:
        for cell in cells(load(path), "code"):
            documented.update(docstrings(cell.source))
    for name in ("select_n_random", "images_to_probs", "plot_classes_preds",
                 "add_pr_curve_tensorboard", "predict"):
        assert HANGUL.search(documented[name]), name


@pytest.mark.parametrize("path", KOREAN, ids=lambda p: p.stem)
def test_the_prose_is_mostly_hangul(path):
    assert hangul_share(prose(path)) > 0.6


def test_one_word_per_concept():
    """tutorials.pytorch.kr's rule: a term, once chosen, is kept (the glossary's table,
    docs/ko/glossary.md, is held by test_the_glossary_holds below)."""
    sentences = "\n".join(prose(p) for p in KOREAN)
    # a TensorBoard run is 런; 실행 is only the verb (실행하다: run a notebook, a cell)
    assert "런(run)" in prose(KO / "01_setup_tensorboard.ipynb")
    assert not re.findall(r".{0,12}실행(?![하할한해합함했])", sentences), "실행 as a noun (a run?)"
    # TensorBoard's dashboards are tabs, as the Korean tutorial names them ("Graphs 탭")
    assert "대시보드" not in sentences
    for tab in ("Images", "Graphs", "Projector", "Scalars", "PR Curves", "HParams"):
        assert f"{tab} 탭" in sentences, tab
    # a variable is code, not a Latin word in a Korean sentence
    assert not re.findall(r".{0,12}(?<![A-Za-z_])writer(?![A-Za-z_])", sentences)


@pytest.mark.parametrize("path", KOREAN, ids=lambda p: p.stem)
def test_korean_punctuation_and_spacing(path):
    assert ";" not in prose(path), "a semicolon in Korean prose: end the sentence instead"
    text = markdown(path)
    spaced = (re.findall(r"`[^`\n]+`" + PARTICLE, text)
              + re.findall(r"\]\([^)\s]+\)" + PARTICLE, text))
    assert not spaced, f"a space between code and its particle: {spaced}"


def test_01_opens_with_the_korean_tutorials_introduction():
    first = cells(load(KO / "01_setup_tensorboard.ipynb"), "markdown")[0].source
    intro = first.split("**목표:**")[0]
    assert "deep_learning_60min_blitz" in intro and "TensorBoard와 통합" in intro
    for item in ("1. (이전 튜토리얼과 거의 비슷하게) 데이터를 읽고 적절히 변환합니다.",
                 "2. TensorBoard를 설정(set up)합니다.", "3. TensorBoard에 기록(write)합니다.",
                 "4. TensorBoard를 사용하여 모델 구조를 살펴봅니다.",
                 "5. 약간의 코드를 추가하여 TensorBoard에서 이전 튜토리얼에서 만든 시각화의",
                 "- 학습 데이터를 검사(inspect)하는 몇 가지 방법",
                 "- 학습에 따른 모델의 성능을 추적(track)하는 방법",
                 "- 학습이 완료된 모델의 성능을 평가(assess)하는 방법"):
        assert item in intro, item


def write_table(tmp_path, table):
    (tmp_path / "ko" / "translations.json").write_text(json.dumps(table), encoding="utf-8")


def test_korean_code_must_be_the_english_code(tmp_path):
    """Comments and docstrings may change; a changed statement stops the generator in
    one line."""
    english = ENGLISH[3]  # 04: select_n_random, with its docstring
    (tmp_path / "ko").mkdir()
    shutil.copy(english, tmp_path)
    table = {english.name: json.loads(json.dumps(TABLE[english.name]))}
    entry = table[english.name]["code-08"]
    original = entry["ko"]
    entry["ko"] = original.replace("    '''\n", '    """\n') + "# 주석만 더합니다\n"
    write_table(tmp_path, table)
    assert "# 주석만 더합니다" in translate.generate(tmp_path)[tmp_path / "ko" / english.name]
    for changed in (original.replace("[:n]", "[:n + 1]"),
                    original.replace("    assert len(data) == len(labels)\n", ""),
                    original + "print(1)\n",
                    original.replace("    '''\n    데이터셋",
                                     "    '''\n    n개를 고릅니다'''\n    '''데이터셋")):
        assert changed != original
        entry["ko"] = changed
        write_table(tmp_path, table)
        with pytest.raises(translate.TranslationError) as refused:
            translate.generate(tmp_path)
        assert "code-08" in str(refused.value) and "\n" not in str(refused.value)
    entry["ko"] = original.replace("n=100)", "n=100")
    write_table(tmp_path, table)
    with pytest.raises(translate.TranslationError, match="code-08 does not parse"):
        translate.generate(tmp_path)


def test_a_cell_tagged_translate_strings_may_differ_in_its_strings_only(tmp_path):
    """The first code cell's message is Korean in the Korean edition; any other
    difference, or a string changed in a cell without the tag, stops the generator."""
    english = ENGLISH[0]
    (tmp_path / "ko").mkdir()
    shutil.copy(english, tmp_path)
    table = {english.name: json.loads(json.dumps(TABLE[english.name]))}
    helpers = table[english.name]["code-helpers"]
    assert '"ko"' in helpers["ko"] and HANGUL.search(helpers["ko"].split("raise")[1])
    write_table(tmp_path, table)
    written = translate.generate(tmp_path)[tmp_path / "ko" / english.name]
    assert "커널을 고르거나" in written
    original = helpers["ko"]
    helpers["ko"] = original.replace("importlib.util.find_spec", "importlib.find_spec", 1)
    write_table(tmp_path, table)
    with pytest.raises(translate.TranslationError, match="code-helpers.*and strings"):
        translate.generate(tmp_path)
    helpers["ko"] = original
    plain = table[english.name]["code-02"]  # the parameters: comments only
    plain["ko"] = plain["ko"].replace('"fashion_mnist_experiment_1"', '"실험_1"')
    write_table(tmp_path, table)
    with pytest.raises(translate.TranslationError, match="code-02.*comments and docstrings$"):
        translate.generate(tmp_path)


@pytest.mark.parametrize("en, ko", PAIRS, ids=lambda p: p.stem)
def test_links_stay_in_the_korean_edition_and_pictures_are_the_english_ones(en, ko):
    text = markdown(ko)
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path = target.partition("#")[0]  # a heading in the page is the docs tests' to check
        assert (KO / path).resolve().exists() or target.startswith("../../docs/img/"), target
        if target.endswith(".ipynb") and target != "../01_setup_tensorboard.ipynb":
            assert "/" not in target, f"{ko.name} links {target}, not its Korean sibling"
    assert pictures(text) == pictures(markdown(en))
    assert all(t.startswith("../../docs/img/")
               for t in re.findall(r"!\[[^\]]+\]\(([^)]+)\)", text))


def test_each_01_links_the_other_edition_and_the_tutorial_in_its_language():
    ko = markdown(KO / "01_setup_tensorboard.ipynb")
    assert "](../01_setup_tensorboard.ipynb)" in ko
    assert KOREAN_TUTORIAL in ko
    first = cells(load(NOTEBOOKS / "01_setup_tensorboard.ipynb"), "markdown")[0].source
    assert "](ko/01_setup_tensorboard.ipynb)" in first
    assert "https://pytorch.org/tutorials/intermediate/tensorboard_tutorial.html" in first


def test_a_missing_or_stale_translation_stops_the_generator_in_one_line(tmp_path):
    (tmp_path / "ko").mkdir()
    shutil.copy(ENGLISH[1], tmp_path)
    table = {ENGLISH[1].name: dict(TABLE[ENGLISH[1].name])}
    table[ENGLISH[1].name]["md-03"] = dict(table[ENGLISH[1].name]["md-03"], en_sha256="0" * 64)
    (tmp_path / "ko" / "translations.json").write_text(json.dumps(table))
    with pytest.raises(translate.TranslationError) as stale:
        translate.generate(tmp_path)
    assert ENGLISH[1].name in str(stale.value) and "md-03" in str(stale.value)
    del table[ENGLISH[1].name]["md-05"]
    table[ENGLISH[1].name]["md-03"] = TABLE[ENGLISH[1].name]["md-03"]
    (tmp_path / "ko" / "translations.json").write_text(json.dumps(table))
    with pytest.raises(translate.TranslationError) as missing:
        translate.generate(tmp_path)
    assert "md-05" in str(missing.value) and "\n" not in str(missing.value)


def test_the_notebooks_relative_paths_reach_the_project_from_ko():
    """The code cells say data_root="../data", runs_dir="../runs": from notebooks/ko
    that is notebooks/data and notebooks/runs, links to the project's folders."""
    for name in ("data", "runs"):
        assert os.readlink(NOTEBOOKS / name) == f"../{name}"
        assert (KO / ".." / name).resolve() == (ROOT / name).resolve()


def test_fmtb_run_lang_picks_the_edition(real_data_root, tmp_path):
    plan = runner.plan("01,02", runs_dir=str(tmp_path / "runs"), lang="ko")
    assert [p.parent for p in plan.notebooks] == [KO, KO] and plan.edition_dir == KO
    assert runner.plan("01", runs_dir=str(tmp_path / "runs")).edition_dir == NOTEBOOKS
    with pytest.raises(runner.UsageError, match="--lang"):
        runner.plan("01", runs_dir=str(tmp_path / "runs"), lang="fr")
    args = runner_cli_args(["run", "--lang", "ko", "--notebooks", "01"])
    assert args.lang == "ko"


def runner_cli_args(argv):
    from fmtb import cli

    return cli.build_parser().parse_args(argv)


def test_readme_ko_quick_start_gallery_and_errors():
    readme_ko = (ROOT / "README.ko.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for text in ("make run", "make test", "jupyter lab notebooks/ko/01_setup_tensorboard.ipynb",
                 "fmtb run: error:", "fmtb data", "--replace", "--lang ko"):
        assert text in readme_ko, text
    # the same pictures, captions naming the same tags (tests/test_pictures.py reads
    # the English captions' tags back from them)
    ko, en = pictures(readme_ko), pictures(readme)
    assert len(ko) >= 1 and ko == {name: en.get(name) for name in ko}  # the gallery: docs/
    assert hangul_share(readme_ko) > 0.3
    assert "README.ko.md" in readme.splitlines()[2]


# --- the seed: the Korean tutorial's own text ---------------------------------------
# ../shared/seed beside a checkout holds the Korean tutorial's reStructuredText
# (PyTorchKorea/tutorials-kr, intermediate_source/tensorboard_tutorial.rst).

SEED = ROOT.parent / "shared" / "seed" / "tensorboard_tutorial_ko.rst"
DOCS_KO = ROOT / "docs" / "ko"
GLOSSARY = DOCS_KO / "glossary.md"
DEPARTURES = DOCS_KO / "departures.md"
SEED_SHARE = 0.75  # of the seed's Hangul sentences, verbatim in notebooks/ko


@pytest.fixture(scope="module")
def seed() -> str:
    if not SEED.is_file():
        pytest.skip(f"the Korean tutorial's text is not at {SEED} (a checkout's ../shared/seed)")
    return SEED.read_text(encoding="utf-8")


def seed_blocks(rst: str) -> tuple[str, str]:
    """The seed's prose (headings and paragraphs, without directives) and its code (the
    ``.. code::`` and ``::`` literal blocks)."""
    prose_lines, code_lines = [], []
    lines = rst.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        literal = line.startswith(".. code::") or (line.rstrip().endswith("::")
                                                   and not line.startswith(".. "))
        if literal:
            if not line.startswith(".. code::"):
                prose_lines.append(line.rstrip()[:-2])
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                code_lines.append(lines[i])
                i += 1
            continue
        if not line.startswith(".. ") and not re.fullmatch(r"[=~\-]{3,}", line.strip()):
            prose_lines.append(line)
        i += 1
    return "\n".join(prose_lines), "\n".join(code_lines)


def plain_rst(text: str) -> str:
    """reStructuredText without its markup: roles, links (their text stays), literals,
    emphasis; whitespace collapsed."""
    text = re.sub(r":doc:`[^`]*`", "", text)
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`__?", r"\1", text)
    text = re.sub(r"``([^`]*)``", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", "")).strip()


def plain_markdown(text: str) -> str:
    """Markdown without its markup: links and pictures keep their text, no backticks or
    emphasis."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.replace("`", "").replace("**", "").replace("*", "")


def seed_sentences(rst: str) -> list[str]:
    """The seed's Hangul sentences: its prose split at '.', ':' and ';' (each paragraph
    and each list item apart), markup stripped."""
    prose_text = seed_blocks(rst)[0]
    found = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:\*|\d+\.) )", prose_text):
        for piece in re.split(r"[.:;]", plain_rst(paragraph)):
            if HANGUL.search(piece):
                found.append(piece.strip())
    return found


def seed_comments(rst: str) -> list[str]:
    """The seed code's comments, '#' and all, whole-line and inline (its code has no '#'
    in a string)."""
    return [line[line.index("#"):].strip() for line in seed_blocks(rst)[1].splitlines()
            if "#" in line]


def unspaced(text: str) -> str:
    """Spacing normalised away: the seed writes ``nn.Module`` 의, the notebooks
    `nn.Module`의; the seed's 시각화하는데 is 시각화하는 데 here."""
    return re.sub(r"\s+", "", text)


def korean_notebook_text() -> str:
    """Everything the Korean notebooks show: markdown and code (comments, docstrings)."""
    return "\n".join(c.source for p in KOREAN for c in load(p).cells)


def korean_comment_lines() -> list[str]:
    return [line.strip() for p in KOREAN for c in cells(load(p), "code")
            for line in python(c.source).splitlines()]


def test_the_seed_parser_finds_what_the_seed_holds(seed):
    """The counts below are made on what this parser finds: check it against the seed."""
    sentences = seed_sentences(seed)
    assert 55 <= len(sentences) <= 75
    assert "TensorBoard를 설정(set up)합니다" in sentences
    assert "학습 데이터를 검사(inspect)하는 몇 가지 방법" in sentences
    assert not any("import" in s or "writer.add" in s for s in sentences)  # no code
    comments = seed_comments(seed)
    assert "# 실행하는데 10초 이하 소요" in comments and "# imports" in comments
    english = [c.removeprefix("# ") for c in comments if not HANGUL.search(c)]
    assert english == KOREAN_TUTORIAL_ENGLISH_COMMENTS


def test_the_seeds_sentences_are_in_the_notebooks(seed):
    """At least SEED_SHARE of the Korean tutorial's Hangul sentences stand in the Korean
    notebooks word for word (markup and spacing aside), and every one that does not is
    in docs/ko/departures.md, which says where it went and why."""
    sentences = seed_sentences(seed)
    text = unspaced(plain_markdown(korean_notebook_text()))
    missing = [s for s in sentences if unspaced(s) not in text]
    share = 1 - len(missing) / len(sentences)
    assert share >= SEED_SHARE, (f"{share:.0%} of the seed's sentences are in notebooks/ko "
                                 f"(at least {SEED_SHARE:.0%}); missing: {missing}")
    listed = unspaced(plain_rst(plain_markdown(DEPARTURES.read_text(encoding="utf-8"))))
    unlisted = [s for s in missing if unspaced(plain_rst(s)) not in listed]
    assert not unlisted, f"not in the notebooks nor in {DEPARTURES.name}: {unlisted}"


def test_every_comment_of_the_seed_is_in_the_notebooks(seed):
    """Each comment of the seed's code is a comment of a Korean code cell (or a line of a
    docstring), word for word; a corrected one holds the seed's words, spacing aside,
    on a line that says '수정:'. The English ones stay English."""
    lines = korean_comment_lines()
    for comment in seed_comments(seed):
        words = comment.removeprefix("# ")
        holding = [line for line in lines if unspaced(words) in unspaced(line)]
        assert holding, f"the seed's comment {comment!r} is not in notebooks/ko"
        verbatim = [line for line in holding if re.sub(r"\s+", " ", words) in line]
        assert verbatim or any("수정:" in line for line in holding), (
            f"{comment!r} is changed in notebooks/ko without a '수정:' note: {holding}")
        if not HANGUL.search(comment):
            assert any(line[line.find("#"):].startswith(comment) for line in lines), (
                f"the seed keeps {comment!r} in English: keep it so")


def test_corrections_of_the_seed_are_flagged():
    """Where the Korean edition corrects the Korean tutorial's own text, it says so."""
    by_cell = {(name, cid): entry["ko"] for name, table in TABLE.items()
               for cid, entry in table.items()}
    for name, cid, words in (
            ("01_setup_tensorboard.ipynb", "md-13", "주요한 객체인"),
            ("02_write_to_tensorboard.ipynb", "md-19", "Jupyter Notebook만으로도"),
            ("04_projector.ipynb", "md-21", "야간모드(night mode)"),
            ("05_track_training.ipynb", "md-00", "학습 중 손실을 기록하고"),
            ("06_assess_the_model.ipynb", "md-37", "곡선 아래 면적이 거의 100%"),
            ("06_assess_the_model.ipynb", "code-10", "2. 정답 라벨을"),
            ("06_assess_the_model.ipynb", "code-12", "2. 정답 라벨을"),
            ("06_assess_the_model.ipynb", "code-20", "test_label")):
        text = by_cell[(name, cid)]
        paragraph = next(p for p in re.split(r"\n\s*\n", text) if words in p)
        assert "수정:" in paragraph, f"{name} {cid}: the correction near {words!r} is not flagged"


def test_the_departures_table_lists_each_departure():
    text = DEPARTURES.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) >= 12
    for heading in ("## 고쳐 쓴 문장", "## 고쳐 쓴 주석", "## 자리를 옮기거나 덧붙인 문장"):
        assert heading in text, heading
    for cell in re.findall(r"\(`((?:md|code)-[\w-]+)`\)", text):
        assert any(cell in table for table in TABLE.values()), f"{DEPARTURES.name} names {cell}"


# --- the Korean edition's words ----------------------------------------------------

# Calques a Korean editor of tutorials.pytorch.kr struck out (issue 32): none may return.
CALQUES = ["튜토리얼에 더하여", "한 벌", "것이라는 표시", "잘라 버립", "잘라 버린", "따로 만든 런",
           "Projector에 줍니다", "더니", "헷갈리는가", "튜토리얼 밖의 내용",
           # and from the editor's second read (REVIEW32): "on your own machine", "give
           # the memory back", "move aside", "not a number", "expects", "compare unlike
           # things", "holds", "says so", "keeps serving", "how well it does", "reach"
           "내 컴퓨터", "메모리를 돌려주", "옆으로 치워", "옆으로 옮겨", "치워두", "치워 두",
           "숫자가 아니게", "를 기대하", "다른 것끼리", "쥐고 있", "붙잡고 있", "그렇다고",
           "모두를 위해", "얼마나 잘하는지", "닿을 수 없", "흉내 내어", "그것이 예측",
           "배포하고 걷습니다", "학습률만큼", "에서 왔습니다", "노트북 컴퓨터"]
# Auxiliary verbs are written attached, as the seed writes them (해보겠습니다, 보여줍니다).
AUXILIARY = re.compile(
    r"[가-힣]*[어아여해워와져쳐려춰겨켜텨펴혀줘봐놔둬꿔눠뤄숴] "
    r"(?:보[고기는니다면세시십아았며려자지므]|봅|본|볼|봐|봤|봄"
    r"|주[고기는니다면세시어었며려자지십므]|줍|준|줄|줘|줬|줌"
    r"|두[고기는니다면세시어었며려자지십므]|둡|둔|둘|둬|뒀|둠"
    r"|가[고며면]|갈 |갑니|놓|놨|버리|버립|버린|버렸|내[고는다면며]|냅|낸|낼)")
# A comment that ends in 음슴체 (-함, -됨, -음, -김 …) inside 합니다체 cells.
EUMSEUM = re.compile(r"(?:음|함|됨|김|춤|름|짐|줌|둠|봄|옴|냄|킴)[.)]*$")
# An image counted with 개 ("16개 이미지", "이미지 300개"): the glossary counts them in 장.
IMAGES_IN_개 = re.compile(
    r".{0,12}(?:\d[\d,]*개의? ?(?:학습 |테스트 )?이미지|이미지 \d[\d,]*개).{0,6}")


def half_question(comment: str) -> bool:
    """A comment ending in -ㄹ지 ("몇 번 반복할지", "옮길지(…)"), half a question, where a
    noun phrase or -ㅂ니다 is the rule."""
    comment = re.sub(r"\s*\([^()]*\)$", "", comment.strip())
    return (len(comment) >= 2 and comment[-1] == "지" and HANGUL.match(comment[-2])
            and (ord(comment[-2]) - 0xAC00) % 28 == 8)  # a syllable ending in ㄹ
# Numbers of four digits or more take a comma (1,000), but for years, dates, code and
# the seed's own sentences, kept word for word.
SEED_NUMBERS = ["2000번 반복할 때마다", "1000 배치마다", "3000번 반복하기만",
                "매 1000 미니배치마다", "(수정: 1000 대신"]
BARE_NUMBER = re.compile(r"(?<![\d,.:/\-\w])\d{4,}(?![\d년\-])")


def hangul_literals(path: Path) -> list[str]:
    """The Hangul string constants of a module (each literal part of an f-string)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if HANGUL.search(node.value):
                found.append(node.value)
    return found


def own_words(text: str) -> str:
    """A page's own words, without what it quotes: a table's column headed 튜토리얼…
    (the tutorial's words, kept as the tutorial writes them), code spans (the words a
    glossary rules out) and "quoted" spans."""
    lines, dropped = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cols = line.strip().strip("|").split("|")
            if dropped is None:  # a table's heading row
                dropped = next((i for i, c in enumerate(cols)
                                if c.strip().startswith("튜토리얼")), -1)
            line = "|" + "|".join(c for i, c in enumerate(cols) if i != dropped) + "|"
        else:
            dropped = None
        lines.append(line)
    return re.sub(r'"[^"\n]*"|`[^`\n]*`', "", "\n".join(lines))


def korean_texts() -> dict[str, str]:
    """Every Korean text of the project, by where it is: the Korean notebooks, their
    exercises, README.ko.md, docs/ko (the glossary and the departures without what they
    quote: own_words), the helpers' Korean messages and the web edition's."""
    import yaml

    texts = {p.name: "\n".join(c.source for c in load(p).cells) for p in KOREAN}
    for path in sorted((NOTEBOOKS / "exercises").glob("0*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts[f"exercises/{path.name}"] = "\n".join(
            (c.get("markdown") or c.get("code"))["ko"] for c in spec["cells"]
            if "ko" in (c.get("markdown") or c.get("code")))
    texts["README.ko.md"] = (ROOT / "README.ko.md").read_text(encoding="utf-8")
    for path in sorted(DOCS_KO.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        quoting = path in (GLOSSARY, DEPARTURES)
        texts[f"docs/ko/{path.name}"] = own_words(text) if quoting else text
    for path in sorted((ROOT / "fmtb_helpers").glob("*.py")):
        if path.name != "tutorial.py":  # generated from the English cells
            texts[f"fmtb_helpers/{path.name}"] = "\n".join(hangul_literals(path))
    for name in ("site/build.py", "fmtb/launch.py"):  # the launch buttons' Korean words
        texts[name] = "\n".join(hangul_literals(ROOT / name))
    return texts


def glossary_rows() -> list[tuple[str, list[str], list[str]]]:
    """Each row of the glossary's table: the word used, the words ruled out, and the
    exceptions (the seed's sentences kept word for word, or quoted)."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 5 and cols[0] not in ("개념", "---"):
            rows.append((cols[1], re.findall(r"`([^`]+)`", cols[2]),
                         re.findall(r"`([^`]+)`", cols[3])))
    return rows


def test_no_calque_remains():
    for where, text in korean_texts().items():
        for calque in CALQUES:
            assert calque not in text, f"{where}: the calque {calque!r}"


def test_the_glossary_holds():
    """One word per concept, over every Korean text of the project."""
    rows = glossary_rows()
    assert len(rows) >= 20
    used = {word for word, _, _ in rows}
    assert {"그리드", "헬퍼", "섬네일", "대화형", "투영"} <= {u.split("(")[0] for u in used}
    for where, text in korean_texts().items():
        for word, ruled_out, exceptions in rows:
            kept = text
            for exception in exceptions:
                kept = kept.replace(exception, "")
            for other in ruled_out:
                at = kept.find(other)
                assert at < 0, (f"{where}: {other!r} ({kept[max(0, at - 20):at + 20]!r}); "
                                f"the glossary says {word}")


def test_the_glossary_catches_what_it_is_for():
    rows = glossary_rows()
    ruled_out = {w for _, words, _ in rows for w in words}
    assert {"대시보드", "격자", "도우미", "PR 곡선", "여러번", "썸네일"} <= ruled_out
    assert AUXILIARY.search("다시 읽어 봅니다") and AUXILIARY.search("알려 줍니다")
    assert AUXILIARY.search("치워 두므로") and not AUXILIARY.search("없어 내려받아야")
    assert AUXILIARY.search("알려 주는") and AUXILIARY.search("켜 둠")
    assert AUXILIARY.search("바꿔 갈 때")
    assert not AUXILIARY.search("두 번 봅니다") and not AUXILIARY.search("여러 번")
    assert EUMSEUM.search("예측만 하므로 변화도가 필요 없음") and EUMSEUM.search("CPU로 옮김")
    assert not EUMSEUM.search("CPU로 옮깁니다") and not EUMSEUM.search("헬퍼 함수")
    assert BARE_NUMBER.search("이미지 1000장") and not BARE_NUMBER.search("이미지 1,000장")
    assert not BARE_NUMBER.search("1970년부터") and not BARE_NUMBER.search("2026-12-03")
    assert IMAGES_IN_개.search("처음 16개 이미지를") and IMAGES_IN_개.search("이미지 16개의")
    assert IMAGES_IN_개.search("처음 2,000개의 학습 이미지")
    assert not IMAGES_IN_개.search("이미지 16장")
    assert half_question("# 몇 미니배치마다 기록할지") and half_question("# 반복할지(에폭 수)")
    assert not half_question("# 기록 간격(미니배치 수)") and not half_question("# 학습합니다")
    table = ('| 노트북 | 튜토리얼의 문장 | 한국어판 |\n|---|---|---|\n'
             '| 05 | 예측이 | "예측이" 결과 |')
    assert own_words(table) == "| 노트북 | 한국어판 |\n|---|---|\n| 05 |  결과 |"


def test_auxiliary_verbs_are_attached():
    for where, text in korean_texts().items():
        found = AUXILIARY.findall(text)
        assert not found, f"{where}: write the auxiliary verb attached, as the seed does: {found}"


def test_comments_are_in_the_same_style_as_the_prose():
    """합니다체 in the Korean edition's comments too: a noun phrase or -ㅂ니다, never 음슴체
    (the seed's own comments aside)."""
    seed_own = set(KOREAN_TUTORIAL_COMMENTS) | {"(아래 `plot_classes_preds` 함수에서 사용)"}
    for line in korean_comment_lines():
        if "#" not in line:
            continue
        comment = line.split("#", 1)[1].strip()
        if not HANGUL.search(comment) or any(s in comment for s in seed_own):
            continue
        assert not EUMSEUM.search(comment), f"a comment in 음슴체: {comment!r}"
        assert not half_question(comment), f"a comment ending in -ㄹ지: {comment!r}"


def test_no_eumseumche_in_the_prose():
    """A parenthesis in a 합니다체 sentence does not switch to 음슴체 ("(정밀도는 높고
    재현율은 낮음)")."""
    for where, text in korean_texts().items():
        found = re.findall(r"[가-힣]+(?:음|(?<!포)함|됨|김)\)", text)  # 포함: a noun
        assert not found, f"{where}: {found}"


def test_headings_are_noun_phrases():
    for path in KOREAN:
        for line in markdown(path).splitlines():
            if line.startswith("#"):
                assert not re.search(r"(?:는가|인가|은가|하라|보라)\??$", line), (path.name, line)


def test_numbers_take_a_comma():
    texts = korean_texts()
    for path in KOREAN:  # the notebooks' prose and comments, not their code
        texts[path.name] = markdown(path) + "\n".join(
            line.split("#", 1)[1] for c in cells(load(path), "code")
            for line in python(c.source).splitlines() if "#" in line)
    for where, text in texts.items():
        prose_only = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
        prose_only = re.sub(r"`[^`\n]*`|\]\([^)]*\)|https?://\S+", "", prose_only)
        for phrase in SEED_NUMBERS:
            prose_only = prose_only.replace(phrase, "")
        if where.startswith("fmtb_helpers/"):
            prose_only = re.sub(r"\{[^}]*\}", "", prose_only)
        lines = [line for line in prose_only.splitlines() if HANGUL.search(line)]
        bare = [m.group() for line in lines for m in BARE_NUMBER.finditer(line)]
        assert not bare, f"{where}: write {bare} with a comma (1,000)"


def notebook_prose_and_comments() -> dict[str, str]:
    """Every Korean text as test_numbers_take_a_comma reads it: the notebooks' markdown
    and comments (not their code), the other texts whole, code spans and blocks left out."""
    texts = korean_texts()
    for path in KOREAN:
        texts[path.name] = markdown(path) + "\n".join(
            line.split("#", 1)[1] for c in cells(load(path), "code")
            for line in python(c.source).splitlines() if "#" in line)
    out = {}
    for where, text in texts.items():
        text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
        out[where] = re.sub(r"`[^`\n]*`|\]\([^)]*\)|https?://\S+", "", text)
    return out


def test_predictions_are_예측_결과():
    """The noun "predictions" is the seed's 예측 결과 (or 예측 확률, the probabilities);
    예측 stands alone only as the verb 예측하다 (and 예측만 하다)."""
    bare = re.compile(r".{0,12}예측(?!\s*결과|\s*확률|하|한|했|합|할|해|된|되|\s*vs|만 하)")
    for where, text in notebook_prose_and_comments().items():
        found = bare.findall(text)
        assert not found, f"{where}: {found}; the glossary says 예측 결과"


def test_images_are_counted_in_장():
    """The glossary's row: an image is counted in 장 ("이미지 16장", "처음 300장"), but in
    the tutorial's sentences, kept word for word (its exceptions)."""
    exceptions = next(e for word, _, e in glossary_rows() if word.startswith("장"))
    assert exceptions
    for where, text in notebook_prose_and_comments().items():
        for exception in exceptions:
            text = text.replace(exception, "")
        found = IMAGES_IN_개.findall(text)
        assert not found, f"{where}: {found}; count images in 장"


def test_the_multiplication_sign_is_spaced():
    """28 × 28, 4 × 4, 12 × 48: the sign '×' with a space on each side, never a Latin x
    between numbers (but the seed's own sentence, kept word for word)."""
    bad = re.compile(r".{0,12}(?:\d\s*x\s*\d|\d×|×\d).{0,6}")
    for where, text in notebook_prose_and_comments().items():
        text = text.replace("32x32에서 28x28로", "")
        found = [m for m in bad.findall(text) if HANGUL.search(m) or where.endswith(".md")]
        assert not found, f"{where}: {found}; write 28 × 28"


def test_no_eumseumche_in_table_cells():
    """A table cell is a noun phrase or a 합니다체 sentence ("커널을 모두 켜둔 경우"), not
    음슴체 ("커널을 모두 켜 둠")."""
    ending = re.compile(r"[가-힣]\s?(?:음|(?<!포)함|됨|둠|김|짐)$")
    for where, text in korean_texts().items():
        for line in text.splitlines():
            if not line.startswith("|") or "---" in line:
                continue
            for cell in line.strip().strip("|").split("|"):
                cell = re.sub(r"\s*\([^()]*\)$", "", cell.strip())  # a closing parenthesis
                assert not ending.search(cell), f"{where}: a table cell in 음슴체: {cell!r}"
    assert ending.search("커널을 모두 켜 둠") and not ending.search("커널을 모두 켜둔 경우")


def test_the_exercises_korean_is_the_translations():
    """notebooks/exercises/0N.yml and notebooks/ko/translations.json hold each exercise
    cell's Korean twice (fmtb.maintainer.exercises copies the one into the other): a fix
    made in one only would come undone the next time the exercises are inserted."""
    import yaml

    for path in sorted((NOTEBOOKS / "exercises").glob("0*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for cell in spec["cells"]:
            text = cell.get("markdown") or cell["code"]
            if "ko" in text:
                assert TABLE[spec["notebook"]][cell["id"]]["ko"] == text["ko"].rstrip("\n"), (
                    f"{path.name} {cell['id']}: its Korean differs from translations.json's")
