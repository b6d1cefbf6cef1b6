"""Build a public multilingual help-centre question set (dev/test) from the GNOME help's own titles and descriptions.

Why: CONVENTIONS asks for quality claims from a corpus the team did not write, with a dev split to tune on and a
test split to report; the sets in bench/data/*.jsonl were written by the team for its five bundled articles.
The GNOME user help and the help of GNOME applications are such a corpus, and they carry their own queries:
every page has a title and a one-sentence description (Mallard <title> and <info><desc>), translated by the
GNOME translation teams. A German title asked of a help centre that has the article in Polish is a
cross-lingual question whose answer is known.

Input: bench/results/helpcentre/pages.jsonl and its HTML pages (written by bench/helpcentre.py: es, fr, pl, it,
index pages and stale translations left out), and the Mallard sources each page comes from (its "source"):
  - "gnome-help" pages (page id "a11y-contrast"): /usr/share/help/<lang>/gnome-help/ (Debian package
    gnome-user-docs, CC-BY-SA 3.0, GNOME Documentation Project);
  - an application's pages (page id "<app>/<page>", e.g. "evince/bookmarks"): <help root>/<lang>/<app>/, the
    help root being where bench/helpcentre.py extracted the application's Debian package
    (bench/results/debs/x/usr/share/help; packages and licences in bench.helpcentre.APP_PACKAGES and LICENCES).

Corpora (under bench/results/, git-ignored; files copied from bench/results/helpcentre, only when changed, so
an index built on them stays current after a re-run):
  helpcentre-mixed/corpus/<lang>/<page>.html        every page once, in one language, picked by a stable hash
  helpcentre-mixed/corpus/<lang>/<app>/<page>.html  of the page id among the languages pages.jsonl has it in
  helpcentre-mixed/documents.jsonl                  {"doc_id", "file", "lang", "page", "split", "available",
                                                     "source"}
  helpcentre-parallel/corpus/<lang>/...             every page in every language it has, same file names
  helpcentre-parallel/{dev,test}.jsonl              the same questions, every language version of the page gold
A document's id is the one the knowledge base gives the file (kb.corpus.slug of its path below the corpus, the
folders joined by "-": "es/a11y-contrast.html" -> "es-a11y-contrast", "es/evince/bookmarks.html" ->
"es-evince-bookmarks"); the script exits if two files would get the same id.

Questions (bench/data/helpcentre/{dev,test}.jsonl, committed, for the mixed corpus), for every page in en (the
C locale), de, es, fr, it and pl:
  - kind "title": the page's <title>; kind "desc": its <info><desc>; kind "keywords": its <info><keywords>,
    if any (gnome-user-docs 43 has none). Text as yelp shows it (bench.documents.plain: "Ctrl+S",
    "Settings ▸ Color", an empty link read as its target's title), whitespace squashed;
  - a non-English text identical to the English one is skipped and counted: itstool leaves a string nobody
    translated in English, and that is not a question in that language;
  - a text asked twice for one page (in two languages or as title and description) is kept once, the first in
    the order title, desc, keywords x en, de, es, fr, it, pl; texts under MIN_QUERY_CHARS are skipped;
  - a text that is also a question about another page, of any source, is dropped from both: it has no single
    answer (the four steps of the wireless troubleshooter share one title; several applications have a page
    titled "Introduction").
  Gold is the page's document, whole ({"doc_id"} without a quote: kb.evaluate counts any passage of it).
  Rows: {"id", "lang", "question", "gold", "kind", "page", "doc_lang"}.
Split: dev or test by a stable hash of the page id, so all questions about a page are in the same split (the
gnome-help page ids, hence their splits, did not change when the applications' help was added).
bench/data/helpcentre/README.md is rewritten with the version of every Debian package used and the counts, by
source too; offtopic.jsonl (hand-written out-of-scope questions) is left as it is and only counted.

Output is the same byte for byte for the same Debian package versions.
Run: python bench/helpcentre.py && python bench/helpcentre_questions.py
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.documents import GNOME_HELP, MAL, HelpDoc, deb_version, mallard, page_path, plain  # noqa: E402
from bench.helpcentre import APP_PACKAGES, DEB_PACKAGES, LICENCES, app_help  # noqa: E402
from kb.corpus import slug  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SOURCE = RESULTS / "helpcentre"
MIXED = RESULTS / "helpcentre-mixed"
PARALLEL = RESULTS / "helpcentre-parallel"
DATA = ROOT / "bench" / "data" / "helpcentre"
QUERY_LANGS = {"C": "en", "de": "de", "es": "es", "fr": "fr", "it": "it", "pl": "pl"}  # help locale -> ISO 639-1
KINDS = {"title": f"{MAL}title", "desc": f"{MAL}info/{MAL}desc", "keywords": f"{MAL}info/{MAL}keywords"}
SPLITS = ("dev", "test")
MIN_QUERY_CHARS = 2


def stable_hash(text: str) -> int:
    """A hash that is the same on every machine and Python run (unlike hash())."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def doc_lang_of(page: str, langs: list[str]) -> str:
    """The one language a page gets in the mixed corpus, among those it is available in."""
    ordered = sorted(langs)
    return ordered[stable_hash(f"language:{page}") % len(ordered)]


def split_of(page: str) -> str:
    return SPLITS[stable_hash(f"split:{page}") % len(SPLITS)]


def doc_id(file: str) -> str:
    """The id the knowledge base gives a corpus file at this relative path (kb/corpus.py does the same):
    "es/evince/bookmarks.html" -> "es-evince-bookmarks"."""
    return slug(str(Path(file).with_suffix("")))


@functools.cache
def app_root() -> Path:
    """Where bench/helpcentre.py extracted the applications' help (exits when it did not)."""
    return app_help()[0]


def source_of(page: str) -> str:
    """The help document of a page id: "gnome-help" for "a11y-contrast", "evince" for "evince/bookmarks"."""
    app, sep, _ = page.partition("/")
    return app if sep else GNOME_HELP.name


def mallard_page(page: str) -> tuple[HelpDoc, str]:
    """The Mallard document and page name of a page id."""
    app, sep, name = page.partition("/")
    if not sep:
        return GNOME_HELP, page
    if app not in APP_PACKAGES:
        raise SystemExit(f"page {page!r}: {app!r} is not a help document bench/helpcentre.py builds")
    return HelpDoc(app_root(), app), name


@dataclass
class Tally:
    """What was kept and skipped, for the printout and the README."""

    skipped_untranslated: Counter[tuple[str, str]] = field(default_factory=Counter)  # (lang, kind)
    skipped_duplicate: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped_short: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped_ambiguous: Counter[tuple[str, str]] = field(default_factory=Counter)  # the same text for other pages
    ambiguous_examples: list[str] = field(default_factory=list)
    keyword_pages: set[str] = field(default_factory=set)
    missing_files: Counter[str] = field(default_factory=Counter)  # lang: pages without a .page file in it
    untranslated_examples: dict[str, list[str]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------
# Input


def load_pages(path: Path) -> dict[str, dict[str, dict[str, object]]]:
    """pages.jsonl -> page id -> language -> its row."""
    if not path.exists():
        raise SystemExit(f"{path} not found: build the help-centre pages first\n  python bench/helpcentre.py")
    pages: dict[str, dict[str, dict[str, object]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pages.setdefault(str(row["page"]), {})[str(row["lang"])] = row
        if not (path.parent / str(row["file"])).is_file():
            raise SystemExit(f"{row['file']} is listed in {path} but missing: re-run python bench/helpcentre.py")
    return dict(sorted(pages.items()))


def check_same_source(pages: dict[str, dict[str, dict[str, object]]]) -> None:
    """The pages were built from the Mallard files there now (same source, same titles), or the gold would drift."""
    for page, by_lang in pages.items():
        for lang, row in by_lang.items():
            if row.get("source", GNOME_HELP.name) != source_of(page):
                raise SystemExit(f"{row['file']}: source {row.get('source')!r}, but page id {page!r}")
            title = page_texts(lang, page).get("title", "")
            if title != row["title"]:
                raise SystemExit(
                    f"{row['file']}: title {row['title']!r} in pages.jsonl, {title!r} in {page_file(lang, page)}; "
                    "the pages were built from another package version: re-run python bench/helpcentre.py"
                )


def page_file(lang: str, page: str) -> Path:
    """The Mallard file of a page id in one help locale."""
    doc, name = mallard_page(page)
    return page_path(lang, name, doc)


@functools.cache
def page_texts(lang: str, page: str) -> dict[str, str]:
    """The page's title, description and keywords (those it has) in one help locale, as yelp shows them."""
    doc, name = mallard_page(page)
    if not page_path(lang, name, doc).exists():
        return {}
    root: ET.Element = mallard(lang, name, doc)
    texts = {}
    for kind, path in KINDS.items():
        el = root.find(path)
        if el is not None:
            texts[kind] = plain(el, lang, name, doc)
    return texts


# ---------------------------------------------------------------------------------------------------------
# Corpora


def sync_corpus(target: Path, files: list[str], marker: Path) -> None:
    """Make target hold exactly these files (relative paths under SOURCE), copying only what changed.

    Refuses to touch a non-empty folder this script did not write (`marker`, written next to it, says it did).
    """
    if target.exists() and any(target.iterdir()) and not marker.exists():
        raise SystemExit(
            f"{target} is not empty and has no {marker.name} beside it: not changing a folder not made here"
        )
    wanted = set(files)
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):  # files before their folders
            if path.is_file() and path.relative_to(target).as_posix() not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for file in files:
        source, copy = SOURCE / file, target / file
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# Questions


def page_questions(page: str, gold: list[str], doc_lang: str, tally: Tally) -> list[dict[str, object]]:
    """The questions a page's own titles, descriptions and keywords make, all with the same gold documents."""
    english = page_texts("C", page)
    by_locale = {locale: page_texts(locale, page) for locale in QUERY_LANGS}
    if any("keywords" in texts for texts in by_locale.values()):
        tally.keyword_pages.add(page)
    seen: set[str] = set()
    rows: list[dict[str, object]] = []
    for kind in KINDS:
        for locale, lang in QUERY_LANGS.items():
            text = by_locale[locale].get(kind, "")
            if not text:
                tally.missing_files[lang] += kind == "title" and not page_file(locale, page).exists()
                continue
            if locale != "C" and text == english.get(kind):
                tally.skipped_untranslated[lang, kind] += 1
                tally.untranslated_examples.setdefault(lang, []).append(text)
                continue
            if len(text) < MIN_QUERY_CHARS:
                tally.skipped_short[lang, kind] += 1
                continue
            if text in seen:
                tally.skipped_duplicate[lang, kind] += 1
                continue
            seen.add(text)
            rows.append(
                {
                    "id": f"hc-{page}-{kind}-{lang}",
                    "lang": lang,
                    "question": text,
                    "gold": [{"doc_id": d} for d in gold],
                    "kind": kind,
                    "page": page,
                    "doc_lang": doc_lang,
                }
            )
    return rows


def all_questions(gold: dict[str, tuple[list[str], str]], tally: Tally) -> dict[str, list[dict[str, object]]]:
    """Page id -> its questions, without those whose text is also a question about another page.

    Such a text has no single answer: the four steps of the wireless troubleshooter share one title.
    """
    by_page = {page: page_questions(page, docs, doc_lang, tally) for page, (docs, doc_lang) in gold.items()}
    pages_of: dict[str, set[str]] = {}
    for page, rows in by_page.items():
        for row in rows:
            pages_of.setdefault(str(row["question"]), set()).add(page)
    for page, rows in by_page.items():
        for row in rows:
            if len(pages_of[str(row["question"])]) > 1:
                tally.skipped_ambiguous[str(row["lang"]), str(row["kind"])] += 1
                if row["question"] not in tally.ambiguous_examples:
                    tally.ambiguous_examples.append(str(row["question"]))
        by_page[page] = [r for r in rows if len(pages_of[str(r["question"])]) == 1]
    return by_page


# ---------------------------------------------------------------------------------------------------------
# Report


def cross_table(rows: list[dict[str, object]], row_key: str, col_key: str) -> str:
    """Counts of rows by two keys, as a markdown table with totals."""
    counts = Counter((str(r[row_key]), str(r[col_key])) for r in rows)
    rows_keys = sorted({a for a, _ in counts})
    cols = sorted({b for _, b in counts})
    lines = [f"| {row_key} \\ {col_key} | " + " | ".join(cols) + " | total |", "|---" * (len(cols) + 2) + "|"]
    for a in rows_keys:
        cells = [counts[a, b] for b in cols]
        lines.append(f"| {a} | " + " | ".join(str(c) for c in cells) + f" | {sum(cells)} |")
    totals = [sum(counts[a, b] for a in rows_keys) for b in cols]
    lines.append("| total | " + " | ".join(str(t) for t in totals) + f" | {sum(totals)} |")
    return "\n".join(lines)


def readme(
    versions: dict[str, str],
    documents: list[dict[str, object]],
    splits: dict[str, list[dict[str, object]]],
    parallel: list[dict[str, object]],
    tally: Tally,
    offtopic: list[dict[str, object]],
) -> str:
    questions = [
        {**r, "split": name, "source": source_of(str(r["page"]))} for name, rows in splits.items() for r in rows
    ]
    cross = sum(r["lang"] != r["doc_lang"] for r in questions)
    docs_per_split = Counter(str(d["split"]) for d in documents)
    sources = list(dict.fromkeys(str(d["source"]) for d in documents))
    apps = [s for s in sources if s != GNOME_HELP.name]
    untranslated = Counter[str]()
    for (lang, kind), n in tally.skipped_untranslated.items():
        untranslated[f"{lang} {kind}"] += n
    by_split = "\n".join(
        f"- {name}: {len(rows)} questions on {docs_per_split[name]} articles" for name, rows in splits.items()
    )
    off_langs = Counter(str(r["lang"]) for r in offtopic)
    italian = Counter(str(d["source"]) for d in documents if "it" in str(d["available"]).split("/"))
    keywords = (
        f"{len(tally.keyword_pages)} pages have <info><keywords>" if tally.keyword_pages else "no page has keywords"
    )
    source_lines = []
    for source in sources:
        package = "gnome-user-docs" if source == GNOME_HELP.name else APP_PACKAGES[source]
        where = (
            "installed, `/usr/share/help/<lang>/gnome-help/`"
            if source == GNOME_HELP.name
            else f"downloaded, `<lang>/{source}/`"
        )
        articles = sum(d["source"] == source for d in documents)
        source_lines.append(
            f"| {source} | `{package}` {versions[package]} | {where} | {articles} | {LICENCES[source]} |"
        )
    sources_table = "\n".join(
        ["| source (page ids) | Debian package | Mallard pages | articles | licence of the text |", "|---" * 5 + "|"]
        + source_lines
    )
    page_ids = "`<page>` for gnome-help" + (", `<app>/<page>` for an application's page" if apps else "")
    return f"""# A help-centre question set from the GNOME user help and GNOME applications' help

Questions with known answers, asked of a multilingual help centre that the team did not write: the GNOME
desktop user help and the help of {len(apps)} GNOME applications, as packaged by Debian:
{", ".join(apps) or "none"};
built into HTML articles by `bench/helpcentre.py`.
The questions are the pages' own titles and one-line descriptions (Mallard `<title>` and `<info><desc>`) in
English, German, Spanish, French, Italian and Polish, as the GNOME translation teams wrote them; the answer to
each is the article it describes. Generated by `bench/helpcentre_questions.py` (its docstring has every rule);
do not edit `dev.jsonl` or `test.jsonl` by hand.

## Provenance and licence

{sources_table}

- The applications' packages are not installed: `bench/helpcentre.py` downloads them with `apt-get download`
  into `bench/results/debs/` and extracts them there (`dpkg -x`); their pages are under
  `bench/results/debs/x/usr/share/help/`. baobab and file-roller get `xml:lang="<lang>"` in place of
  `"<app>-<lang>"` (a packaging slip that made yelp-build write the page chrome in English).
- HTML by `yelp-build` from `yelp-tools` {versions["yelp-tools"]}.
- The out-of-scope questions in `offtopic.jsonl` were written by the team.

## Files

- `dev.jsonl`, `test.jsonl`: one question a line, the project's question format (`kb eval`):
  `{{"id", "lang", "question", "gold": [{{"doc_id"}}], "kind", "page", "doc_lang"}}`. Gold without a `quote` is the
  whole article: any passage of it counts. `kind` is `title`, `desc` or `keywords` ({keywords});
  `page` is the page id: {page_ids};
  `doc_lang` the language of its article in the mixed corpus. Split by a stable hash of the page id: all
  questions about one article are in the same split. Tune on dev, report test.
- `offtopic.jsonl`: {len(offtopic)} questions a desktop help cannot answer (cooking, tax, sports, medicine,
  gardening, law, travel, pets), {", ".join(f"{n} {lang}" for lang, n in sorted(off_langs.items()))}, with
  `"gold": []` like the out-of-scope rows of `bench/data/dev.jsonl`: they measure `out-of-scope not confident`.

## Corpus and counts

The mixed corpus (`bench/results/helpcentre-mixed/corpus/`) has each of the {len(documents)} articles that
`bench/helpcentre.py` keeps exactly once, in one language picked by a stable hash of the page id among the
languages it was built in (Italian only has {sum(italian.values())} well-translated articles:
{", ".join(f"{n} {s}" for s, n in italian.items())}; so few are Italian; pages whose Spanish or French
translation is stale are French/Polish or Polish only). The parallel corpus
(`bench/results/helpcentre-parallel/corpus/`) has every article in every language it was built in: {len(parallel)}
files; `bench/results/helpcentre-parallel/dev.jsonl` and `test.jsonl` ask the same questions of it with every
language version of the article as gold.

{by_split}
- {len(questions)} questions in all; {cross} ({cross / max(len(questions), 1):.0%}) are asked in another language
  than the article's.

Articles of the mixed corpus by source and language:

{cross_table(documents, "source", "lang")}

Files of the parallel corpus by source and language:

{cross_table(parallel, "source", "lang")}

Questions by source and split:

{cross_table(questions, "source", "split")}

Questions by split and question language:

{cross_table(questions, "split", "lang")}

Questions by question language and article language:

{cross_table(questions, "lang", "doc_lang")}

Questions by split and kind:

{cross_table(questions, "split", "kind")}

Left out:
- {sum(tally.skipped_untranslated.values())} titles and descriptions left in English in a translated page
  (nobody translated them yet, so they are not questions in that language), by language and kind:
  {", ".join(f"{k} {n}" for k, n in sorted(untranslated.items()))};
- {sum(tally.skipped_ambiguous.values())} texts that are also a question about another page, so have no single
  answer ({"; ".join(f'"{t}"' for t in tally.ambiguous_examples[:3]) or "none"});
- {sum(tally.skipped_duplicate.values())} repeated within a page (the same text in two languages, or as title
  and description), {sum(tally.skipped_short.values())} under {MIN_QUERY_CHARS} characters.

Mind when reading the figures: a title query in the article's own language is the article's heading, found
word for word; the descriptions are hardly ever in the articles (they are what other pages' link lists say about
them), so they are the harder half.

## How to run

```
apt-get install -y gnome-user-docs yelp-tools
python bench/helpcentre.py && python bench/helpcentre_questions.py   # the first run downloads the packages
export KB_CORPUS_DIR=bench/results/helpcentre-mixed/corpus KB_INDEX_DIR=bench/results/helpcentre-mixed/index
kb rebuild
cat bench/data/helpcentre/dev.jsonl bench/data/helpcentre/offtopic.jsonl > bench/results/helpcentre-dev.jsonl
cat bench/data/helpcentre/test.jsonl bench/data/helpcentre/offtopic.jsonl > bench/results/helpcentre-test.jsonl
kb eval bench/results/helpcentre-dev.jsonl          # add --json for machine-readable output
```

`kb eval bench/data/helpcentre/dev.jsonl` alone gives the retrieval figures without the out-of-scope one.
For the parallel corpus, the same with `KB_CORPUS_DIR=bench/results/helpcentre-parallel/corpus`,
`KB_INDEX_DIR=bench/results/helpcentre-parallel/index` and `bench/results/helpcentre-parallel/dev.jsonl`
(which also reports language coverage@10). The test split is for the final report only.
"""


def package_versions(sources: set[str]) -> dict[str, str]:
    """The version of every Debian package used: yelp-tools and gnome-user-docs (installed), the applications'
    packages (downloaded by bench/helpcentre.py) for the applications in `sources`."""
    versions = {p: deb_version(p) or "" for p in DEB_PACKAGES}
    if not versions["gnome-user-docs"] or not GNOME_HELP.folder("C").is_dir():
        raise SystemExit("missing Debian package gnome-user-docs\n  apt-get install -y gnome-user-docs")
    apps = sorted(sources - {GNOME_HELP.name})
    if apps:
        versions.update(app_help(apps)[1])
    return versions


def check_unique_ids(files: list[str]) -> None:
    """Two corpus files with one id would be one article to the knowledge base (the second is skipped)."""
    first: dict[str, str] = {}
    for file in files:
        other = first.setdefault(doc_id(file), file)
        if other != file:
            raise SystemExit(f"{other} and {file} would both be article {doc_id(file)!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.parse_args(argv)
    started = time.perf_counter()
    pages = load_pages(SOURCE / "pages.jsonl")
    sources = {source_of(page) for page in pages}
    versions = package_versions(sources)
    check_same_source(pages)

    documents: list[dict[str, object]] = []
    parallel_files: list[str] = []
    parallel_rows: list[dict[str, object]] = []
    mixed_gold: dict[str, tuple[list[str], str]] = {}
    parallel_gold: dict[str, tuple[list[str], str]] = {}
    for page, by_lang in pages.items():
        lang = doc_lang_of(page, list(by_lang))
        file = str(by_lang[lang]["file"])
        available = "/".join(sorted(by_lang))
        split = split_of(page)
        source = source_of(page)
        documents.append(
            {
                "doc_id": doc_id(file),
                "file": file,
                "lang": lang,
                "page": page,
                "split": split,
                "available": available,
                "source": source,
            }
        )
        mixed_gold[page] = [doc_id(file)], lang
        files = [str(by_lang[code]["file"]) for code in sorted(by_lang)]
        parallel_files += files
        parallel_rows += [{"source": source, "lang": code} for code in sorted(by_lang)]
        parallel_gold[page] = [doc_id(f) for f in files], available
    check_unique_ids(parallel_files)
    tally = Tally()
    mixed = all_questions(mixed_gold, tally)
    parallel = all_questions(parallel_gold, Tally())
    splits = {name: [r for page in pages if split_of(page) == name for r in mixed[page]] for name in SPLITS}

    sync_corpus(MIXED / "corpus", [str(d["file"]) for d in documents], MIXED / "documents.jsonl")
    write_jsonl(MIXED / "documents.jsonl", documents)
    sync_corpus(PARALLEL / "corpus", parallel_files, PARALLEL / "dev.jsonl")
    for name in SPLITS:
        write_jsonl(DATA / f"{name}.jsonl", splits[name])
        write_jsonl(PARALLEL / f"{name}.jsonl", [r for page in pages if split_of(page) == name for r in parallel[page]])
    offtopic_path = DATA / "offtopic.jsonl"
    offtopic_lines = offtopic_path.read_text(encoding="utf-8").splitlines() if offtopic_path.exists() else []
    offtopic = [json.loads(line) for line in offtopic_lines if line.strip()]
    (DATA / "README.md").write_text(
        readme(versions, documents, splits, parallel_rows, tally, offtopic), encoding="utf-8"
    )

    questions = [r for rows in splits.values() for r in rows]
    print(", ".join(f"{package} {version}" for package, version in versions.items()))
    print(f"mixed corpus: {len(documents)} articles ({_counts(d['lang'] for d in documents)}) in {MIXED / 'corpus'}")
    print(f"parallel corpus: {len(parallel_files)} files in {PARALLEL / 'corpus'}")
    for source in dict.fromkeys(str(d["source"]) for d in documents):
        mine = [d for d in documents if d["source"] == source]
        files = [r for r in parallel_rows if r["source"] == source]
        asked = [r for r in questions if source_of(str(r["page"])) == source]
        print(
            f"    {source}: {len(mine)} articles ({_counts(d['lang'] for d in mine)}), {len(files)} parallel files "
            f"({_counts(r['lang'] for r in files)}), {len(asked)} questions "
            f"({_counts(split_of(str(r['page'])) for r in asked)})"
        )
    for name, rows in splits.items():
        print(f"{name}: {len(rows)} questions on {sum(d['split'] == name for d in documents)} articles")
        print(f"    by question language: {_counts(r['lang'] for r in rows)}")
        print(f"    by kind: {_counts(r['kind'] for r in rows)}")
        cross = sum(r["lang"] != r["doc_lang"] for r in rows)
        print(f"    cross-lingual: {cross} ({cross / max(len(rows), 1):.0%})")
    cross = sum(r["lang"] != r["doc_lang"] for r in questions)
    print(f"{len(questions)} questions, {cross} ({cross / max(len(questions), 1):.0%}) cross-lingual")
    skipped = sum(tally.skipped_untranslated.values())
    print(f"skipped, left in English in a translated page: {skipped} ({_counts_pairs(tally.skipped_untranslated)})")
    for lang, examples in sorted(tally.untranslated_examples.items()):
        print(f"    {lang}: e.g. {'; '.join(examples[:3])}")
    print(f"skipped, same text as another question about the page: {sum(tally.skipped_duplicate.values())}")
    print(f"skipped, under {MIN_QUERY_CHARS} characters: {sum(tally.skipped_short.values())}")
    print(f"pages without a .page file in a question language: {_counts(tally.missing_files.elements()) or 'none'}")
    ambiguous = sum(tally.skipped_ambiguous.values())
    print(f"skipped, also a question about another page: {ambiguous} (e.g. {'; '.join(tally.ambiguous_examples[:3])})")
    keywords = sum(r["kind"] == "keywords" for r in questions)
    print(f"pages with <info><keywords>: {len(tally.keyword_pages)}, keyword questions: {keywords}")
    print(f"off-topic questions ({offtopic_path.name}): {len(offtopic)}")
    print(f"wrote {DATA}/{{dev,test}}.jsonl and README.md, {time.perf_counter() - started:.1f} s")


def _counts(values: Iterable[object]) -> str:
    counter = Counter(str(v) for v in values)
    return ", ".join(f"{k} {n}" for k, n in sorted(counter.items()))


def _counts_pairs(counter: Counter[tuple[str, str]]) -> str:
    return ", ".join(f"{lang} {kind} {n}" for (lang, kind), n in sorted(counter.items()))


if __name__ == "__main__":
    main()
