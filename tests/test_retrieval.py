"""Cross-lingual retrieval and answers with the real model on the bundled corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb import KBError, KnowledgeBase, Settings
from kb.build import rebuild
from kb.evaluate import paragraphs as paragraph_spans
from kb.search import Ranking

from .conftest import ROOT, FakeEmbedder

# (question, articles that answer it). 002 and 004 are the same article in Polish and French.
CASES = [
    ("Is customer experience about emotion or technology?", {"002", "004"}),
    ("Why do we remember emotional experiences for so long?", {"002", "004"}),
    ("What does the LeanCuisine #WeighThis campaign show?", {"002", "004"}),
    ("¿Cómo deberían las empresas medir el éxito?", {"002", "004"}),
    ("Czy cyfrowy klient to nowy klient, czy ten sam co zawsze?", {"001"}),
    ("Il nuovo consumatore cerca una connessione emotiva?", {"000"}),
    ("Welche Rolle spielen Mitarbeiter für das Kundenerlebnis?", {"003"}),
    ("What share of people want a personal touch in digital channels?", {"003"}),
    ("¿Qué es la human experience (HX)?", {"003"}),
    ("Czym jest experiencia de cliente w erze cyfrowej?", {"000"}),
    ("Perché le isole di dati sono un problema?", {"002", "004"}),
    ("Was macht die App Be My Eyes?", {"002", "004"}),
    ("L'expérience client est-elle le business lui-même ?", {"000"}),
    ("How did the flow of information empower people?", {"001"}),
]


# An idiom ("l'épicier du coin" for the Spanish "tendero de la esquina") with near-ties: 001 was 5th
# with separately embedded sentences and contexts (0.741 against 0.752 at the top) and is 7th with
# one model pass per passage (0.746 against 0.761), the change that gained 0.03 hit@5 on the
# 1,387-question help-centre set (docs/measurements.md, "One pass per passage"). Top 10 is what holds.
NEAR_TIE = ("Le client veut-il être traité comme par l'épicier du coin ?", {"001"})


def test_idiom_with_near_ties_in_top10(kb: KnowledgeBase) -> None:
    question, expected = NEAR_TIE
    hits = kb.search(question, k=10)
    assert expected & {h.doc_id for h in hits}, [(h.doc_id, round(h.score, 3)) for h in hits]


@pytest.mark.parametrize("question,expected", CASES)
def test_question_finds_its_article_in_top5(kb: KnowledgeBase, question: str, expected: set[str]) -> None:
    hits = kb.search(question, k=5)
    assert expected & {h.doc_id for h in hits}, [(h.doc_id, round(h.score, 3)) for h in hits]


def test_hits_are_ranked_and_exact(kb: KnowledgeBase) -> None:
    hits = kb.search("¿Cómo medir el éxito?", k=10)
    assert [h.rank for h in hits] == list(range(1, 11))
    assert all(-1.0 <= h.score <= 1.0 for h in hits)  # relevance: a weighted mean of two cosines
    docs = [h.doc_id for h in hits[:5]]
    assert max(docs.count(d) for d in docs) <= 2  # one article does not fill every slot
    for h in hits:
        assert kb.document(h.doc_id).body[h.start : h.end] == h.text


def test_language_directions_are_removed(kb: KnowledgeBase) -> None:
    index = kb.index
    assert index.language_basis.shape == (len(index.languages) - 1, index.language_basis.shape[1])
    means = index.neutral(np.stack([index.language_mean(lang) for lang in index.languages]))
    assert np.abs(means - means[0]).max() < 1e-4  # without those directions, every language's mean is the same
    vectors = index.neutral(index.chunk_vectors(np.arange(10)))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "words,stems,found_in",
    [
        ("hippocampus", ("hipokamp", "hippocamp"), {"pl", "fr"}),  # a cognate, in the pl and fr versions
        ("Radboud", ("Radboud",), {"pl", "fr"}),  # names, as BM25 would find them, across languages
        ("#WeighThis", ("WeighThis",), {"pl", "fr"}),
        ("Be My Eyes", ("Be My Eyes",), {"pl", "fr"}),
        ("TLC", ("TLC",), {"pl", "fr"}),
        ("Jacques Strydom", ("Jacques",), {"it"}),
    ],
)
def test_word_match_finds_words_and_names(
    kb: KnowledgeBase, words: str, stems: tuple[str, ...], found_in: set[str]
) -> None:
    # The word match alone ranks first the passages that contain the word, in whatever language.
    rows = np.arange(len(kb.index))
    scores = Ranking(kb.index, kb.embedder.encode_query(words))._word_match(rows)
    top = [kb.index.chunk(r) for r in np.argsort(-scores)[: len(found_in)].tolist()]
    assert {c.lang for c in top} == found_in
    assert all(any(stem in c.text for stem in stems) for c in top)


def test_language_filter(kb: KnowledgeBase) -> None:
    hits = kb.search("customer emotions", k=10, languages=["it", "es"])
    assert hits and {h.lang for h in hits} <= {"it", "es"}
    assert {h.lang for h in kb.search("customer emotions", k=3, languages="pl")} == {"pl"}


def test_ask_cites_exact_passages(kb: KnowledgeBase) -> None:
    answer = kb.ask("Is customer experience about emotion or technology?")
    assert answer.query_lang == "en" and answer.citations
    assert answer.contested and not answer.confident  # several articles make this point about as closely
    for c in answer.citations:
        assert kb.document(c.doc_id).body[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    assert len({c.lang for c in answer.citations}) >= 2


@pytest.mark.parametrize(
    "question",
    ["What does Be My Eyes do?", "¿Cómo medir el éxito de la experiencia de cliente?", "Czy emocje są ważne?"],
)
def test_answer_points_are_structured(kb: KnowledgeBase, question: str) -> None:
    answer = kb.ask(question, k=8)
    assert answer.points and [c for p in answer.points for c in p.citations] == answer.citations
    quoted = [(v.doc_id, v.start) for c in answer.citations for v in (c, *c.parallels)]
    assert len(quoted) == len(set(quoted))  # no sentence is cited twice, as a quote or a parallel
    for point in answer.points:
        assert point.citations and point.text == point.citations[0].quote
        assert f"{point.text} {point.markers}" in answer.text  # the plain text says the same
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.fixture(scope="module")
def help_pages(faiss_kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """Six GNOME help pages, each in Spanish, French, Italian and Polish (tests/data/helpsite), indexed
    with the real model: translation discovery links each page's four versions."""
    settings = replace(
        faiss_kb.settings, corpus_dir=ROOT / "tests" / "data" / "helpsite", index_dir=tmp_path_factory.mktemp("pages")
    )
    rebuild(settings, embedder=faiss_kb.embedder)
    return KnowledgeBase.open(settings=settings, embedder=faiss_kb.embedder)


def test_a_sentences_version_in_a_translation_is_the_sentence_that_translates_it(help_pages: KnowledgeBase) -> None:
    """What an answer shows beside a cited sentence, and leads with in the reader's language: its version in
    each translation. Where two versions of a page have as many paragraphs (paragraph k translates paragraph
    k), the version shown lies in the paragraph that translates the sentence's. The sentence most like it
    alone was another step of the same passage for 18 % of these ("Active la opción Teclas Lentas." ->
    "Kliknij Ustawienia."); translations keep their sentences in order, and the alignment reads them so."""
    index = help_pages.index

    def paragraph(doc_id: str, offset: int) -> int | None:
        spans = paragraph_spans(index.document(doc_id).body)
        return next((k for k, (start, end) in enumerate(spans) if start <= offset < end), None)

    checked = shown = wrong = 0
    for doc_id in index.documents:
        assert len(index.translations(doc_id)) == 3, doc_id  # the page in the three other languages
        for other in index.translations(doc_id):
            if len(paragraph_spans(index.document(doc_id).body)) != len(paragraph_spans(index.document(other).body)):
                continue  # (one page's translators merged two paragraphs)
            for row in index.sentences_of_document(doc_id).tolist():
                version = index.version_of(row, other)
                checked += 1
                shown += version is not None
                if version is not None:
                    wrong += paragraph(other, index.sentence_span(version[0])[0]) != paragraph(
                        doc_id, index.sentence_span(row)[0]
                    )
    # 591 sentences: 576 with a version, 2 of them wrong (where the Italian merges two sentences into one);
    # the sentence most like it alone: 588, 106 wrong
    assert checked > 500 and shown / checked > 0.95 and wrong / shown < 0.01, (checked, shown, wrong)

    # as an answer shows them: asked in English (no page is) by a Polish reader, each point leads with
    # its Polish version, and every version of a point says the same paragraph's thing
    for question in ("What should I back up?", "How do I select files by pattern?", "How often should I back up?"):
        answer = help_pages.ask(question, reader_lang="pl")
        assert answer.points
        for point in answer.points:
            lead = point.citations[0]
            assert lead.lang == "pl"
            versions = (lead, *lead.parallels)
            assert len(versions) >= 3, (question, lead.quote)
            if len({len(paragraph_spans(index.document(v.doc_id).body)) for v in versions}) == 1:
                assert len({paragraph(v.doc_id, v.start) for v in versions}) == 1, [v.quote for v in versions]


def test_sentences_pair_in_order_and_a_sentence_left_out_has_no_version() -> None:
    """The alignment's arithmetic: each sentence pairs at most once, in order, for the most cosine over
    ALIGNED in all; a sentence whose only likely partners are taken, or too unlike it, has none."""
    from kb.translations import ALIGNED, align_sentences

    low, high = ALIGNED - 0.05, ALIGNED + 0.15
    # three sentences; the translation leaves out the second: its best partner (column 1) is the third's
    similarity = np.array([[high, low], [low, high - 0.05], [low, high]])
    assert align_sentences(similarity) == {0: 0, 2: 1}
    # of two crossed pairs only one can be kept (in order), and one strong pair beats two weak ones
    crossed = np.array([[ALIGNED + 0.02, high], [high, ALIGNED + 0.02]])
    assert align_sentences(crossed) in ({0: 1}, {1: 0})
    in_order = np.array([[high, ALIGNED + 0.02], [ALIGNED + 0.12, high]])
    assert align_sentences(in_order) == {0: 0, 1: 1}
    assert align_sentences(np.full((2, 3), low)) == {}  # nothing alike: no version


def test_a_language_the_points_miss_never_takes_point_ones_place() -> None:
    """When the points are full, the best passage of a language none of them is in takes the place of the
    weakest point of a repeated language, never of point 1: point 1 is search's first, and what
    `confident` speaks of (on the help centre, "Sprawdzanie kopii zapasowej" lost its Polish point 1 to an
    Italian passage ranked 9th)."""
    from kb.answer import _balance, _Candidate
    from kb.types import Hit

    class Pages:  # what the choice reads of an index: no article here has a translation
        def translations(self, doc_id: str) -> list[str]:
            return []

    def candidate(doc_id: str, lang: str, rank: int) -> _Candidate:
        hit = Hit(f"{doc_id}#0", doc_id, doc_id, lang, "", 0, 1, 0.9 - rank / 100, rank)
        return _Candidate(hit, rank, hit.score, np.zeros(3, np.float32))

    first, second, third = candidate("a", "pl", 1), candidate("b", "pl", 2), candidate("c", "pl", 3)
    groups = [[first], [second, third]]  # point 2 merges two passages; Polish is heard three times
    _balance(Pages(), groups, candidate("d", "it", 9))  # type: ignore[arg-type]
    assert groups[0] == [first]
    groups.append([candidate("e", "pl", 4)])
    _balance(Pages(), groups, candidate("d", "it", 9))  # type: ignore[arg-type]
    assert groups[0] == [first] and groups[2][0].hit.doc_id == "d"  # the weakest repeated point makes room


def test_k_changes_how_much_evidence_an_answer_shows(kb: KnowledgeBase) -> None:
    question = "Is customer experience about emotion or technology?"
    few, many = kb.ask(question, k=2), kb.ask(question, k=14)
    assert len(few.points) <= len(few.hits)  # a point per passage drawn from (2, and a language the hits missed)
    assert len(many.points) > 5  # the old cap, whatever k was
    assert len({c.chunk_id for c in many.citations}) > len({c.chunk_id for c in few.citations})


def test_one_scoring_pass_serves_search_evidence_and_answer(kb: KnowledgeBase) -> None:
    from kb.language import ranking_language
    from kb.search import Ranking, language_evidence

    question = "Is customer experience about emotion or technology?"
    ranking = Ranking(kb.index, kb.embedder.encode_query(question), None, ranking_language(question))
    hits = language_evidence(ranking, ranking.top(2), kb.confident_score)
    assert [h.chunk_id for h in hits[:2]] == [h.chunk_id for h in kb.search(question, k=2)]
    for hit in hits:  # the evidence of other languages is scored by the same pass, as search scores it
        alone = kb.search(question, k=1, languages=[hit.lang])
        assert hit.score == pytest.approx(ranking.scored(kb.index.row_of(hit.chunk_id)).score)
        assert hit.rank <= 2 or (alone[0].chunk_id == hit.chunk_id and alone[0].score == pytest.approx(hit.score))


def test_ask_detects_question_language(kb: KnowledgeBase) -> None:
    assert kb.ask("¿Cómo medir el éxito de la experiencia de cliente?").query_lang == "es"
    assert kb.ask("Jak mierzyć sukces w obsłudze klienta?").query_lang == "pl"


def test_out_of_scope_is_not_confident(kb: KnowledgeBase) -> None:
    answer = kb.ask("What is the boiling point of tungsten in kelvin?")
    assert not answer.confident
    assert answer.citations  # the closest passages are still shown


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_question(kb: KnowledgeBase, bad: str) -> None:
    with pytest.raises(KBError, match="empty"):
        kb.ask(bad)
    with pytest.raises(KBError, match="empty"):
        kb.search(bad)


def test_enormous_question_is_truncated_and_says_so(kb: KnowledgeBase) -> None:
    answer = kb.ask("¿Cómo medir el éxito? " * 5000)
    assert answer.notice and "cut" in answer.notice
    assert answer.citations


def test_bad_k(kb: KnowledgeBase) -> None:
    with pytest.raises(KBError, match="k must be"):
        kb.search("hola", k=0)


def test_stats(kb: KnowledgeBase) -> None:
    stats = kb.stats()
    assert stats.documents == 5 and stats.documents_per_language == {"es": 2, "pl": 1, "it": 1, "fr": 1}
    assert sum(stats.chunks_per_language.values()) == stats.chunks
    assert stats.model == "multilingual-e5-small" and stats.built_at
    assert stats.format_version == 11 and stats.skipped == () and stats.sentences > stats.chunks
    assert stats.token_vectors > 0 and 0.7 <= stats.token_norms[0] <= stats.token_norms[1] <= 1.2


def test_translated_passages_are_cited_once_with_their_parallels(kb: KnowledgeBase) -> None:
    answer = kb.ask("What does Be My Eyes do?")
    with_parallels = [c for c in answer.citations if c.parallels]
    assert with_parallels
    for c in with_parallels:
        for p in c.parallels:
            assert p.n == c.n and p.lang != c.lang
            assert {c.doc_id, p.doc_id} == {"002", "004"}
            assert kb.document(p.doc_id).body[p.start : p.end] == p.quote
    cited_docs = [c.doc_id for c in answer.citations]
    # a point is not spent twice on the same sentence in two languages
    for c in with_parallels:
        for p in c.parallels:
            assert not any(o.doc_id == p.doc_id and o.start == p.start for o in answer.citations)
    assert cited_docs


def test_bullet_quotes_start_at_the_words(kb: KnowledgeBase) -> None:
    answer = kb.ask("Quanti intervistati chiedono un tocco personale nei canali digitali?")
    assert answer.citations
    for c in answer.citations:
        assert not c.quote.startswith(("- ", "• "))


def test_translations_are_discovered_without_metadata(tmp_path: Path, corpus_copy: Path) -> None:
    french = next(corpus_copy.glob("004_*.txt"))
    text = french.read_text(encoding="utf-8")
    french.write_text(text.replace("translation_of: 002\n", ""), encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings)
    kb = KnowledgeBase.open(settings=settings)
    assert kb.document("004").translation_of == ""
    assert [(a, b) for a, b, _ in kb.index.manifest.translations] == [("002", "004")]
    assert kb.index.translations("002") == ["004"] and kb.index.translations("004") == ["002"]
    assert all(kb.index.translations(d) == [] for d in ("000", "001", "003"))
    answer = kb.ask("What does Be My Eyes do?")
    assert any(p.doc_id in {"002", "004"} for c in answer.citations for p in c.parallels)


def test_principles_group_passages_across_works_and_languages(kb: KnowledgeBase) -> None:
    principles = kb.principles()
    assert len(principles) >= 2
    keys = [(-p.works, -len(p.languages), -len(p.citations)) for p in principles]
    assert keys == sorted(keys)  # most widely made first
    for p in principles:
        assert p.works >= 2 and p.statement == p.citations[0]
        assert set(p.languages) == {c.lang for c in p.citations}
        assert [c.n for c in p.citations] == list(range(1, len(p.citations) + 1))
        for c in p.citations:
            assert kb.document(c.doc_id).body[c.start : c.end] == c.quote
    top = principles[0]
    assert len(top.languages) >= 3  # one point, made in several languages by different articles
    assert kb.principles(limit=1) == principles[:1]
    with pytest.raises(KBError, match="limit"):
        kb.principles(limit=0)


def test_articles_on_one_topic_are_not_taken_for_translations(kb: KnowledgeBase) -> None:
    # Discovered pairs must be real translations: only 002 (pl) and 004 (fr) are, by their header too.
    assert [(a, b) for a, b, _ in kb.index.manifest.translations] == [("002", "004")]
    assert {d: kb.index.translations(d) for d in ("000", "001", "003")} == {"000": [], "001": [], "003": []}


def test_ask_gives_evidence_in_every_language_that_has_it(kb: KnowledgeBase) -> None:
    question = "Is customer experience about emotion or technology?"
    answer = kb.ask(question, k=1)  # one passage asked for; other languages with strong evidence join
    strong = {
        lang
        for lang in kb.languages()
        if (best := kb.search(question, k=1, languages=[lang])) and best[0].score >= kb.confident_score
    }
    assert len(strong) >= 3
    evidence = answer.by_language()
    assert strong <= set(evidence)
    for lang, citations in evidence.items():
        assert all(c.lang == lang and kb.document(c.doc_id).body[c.start : c.end] == c.quote for c in citations)


def _layout(document: object, vectors: np.ndarray) -> object:
    """Discovery's view of a synthetic document: a passage per row of `vectors`, each of the same
    length, its token vectors the same rows."""
    from kb.translations import Layout

    return Layout(document, vectors, [40] * len(vectors), vectors)  # type: ignore[arg-type]


def test_translation_candidates_are_the_nearest_of_each_other_language() -> None:
    """Each article is compared in full with its nearest articles of every other language, however
    many articles of its own language are nearer (taking the nearest of any language first left the
    true partner out for 3 pairs in 4 on a help centre in four languages)."""
    from kb.translations import CANDIDATES, candidate_pairs
    from kb.types import Document

    rng = np.random.default_rng(0)
    topic = rng.standard_normal(16)
    docs, vectors = [], []
    for n, lang in enumerate(["es"] * 8 + ["pl", "pl", "pl"]):
        shift = 0.05 if lang == "es" else 0.6  # the Polish ones are further from every Spanish one
        v = topic + shift * rng.standard_normal((3, 16))
        docs.append(Document(doc_id=f"d{n}", title="t", lang=lang, body="b"))
        vectors.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    pairs = candidate_pairs(docs, vectors)
    means = np.stack([v.mean(axis=0) / np.linalg.norm(v.mean(axis=0)) for v in vectors])
    for i, doc in enumerate(docs):
        others = [j for j, d in enumerate(docs) if d.lang != doc.lang]
        nearest = sorted(others, key=lambda j: -float(means[i] @ means[j]))[:CANDIDATES]
        assert all((min(i, j), max(i, j)) in pairs for j in nearest)
    assert all(docs[i].lang != docs[j].lang for i, j in pairs)  # never two articles of one language


def test_pages_that_differ_in_their_numbers_are_not_translations() -> None:
    """Sentences that align perfectly make a translation only if the numbers agree too ("print 7
    pages" and "print 11 pages" are two pages, not one page in two languages)."""
    from kb.translations import discover_translations
    from kb.types import Document

    rng = np.random.default_rng(1)
    v = rng.standard_normal((4, 16))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    es = Document(doc_id="es", title="t", lang="es", body="Imprima 7 páginas en 2 hojas. Pulse 3 veces.")
    fr_same = Document(doc_id="fr", title="t", lang="fr", body="Imprimez 7 pages sur 2 feuilles. Cliquez 3 fois.")
    fr_other = Document(doc_id="fr", title="t", lang="fr", body="Imprimez 11 pages sur 3 feuilles. Cliquez 6 fois.")
    assert [p[:2] for p in discover_translations([_layout(es, v), _layout(fr_same, v)])] == [("es", "fr")]
    assert discover_translations([_layout(es, v), _layout(fr_other, v)]) == []


def test_an_article_title_asked_in_another_language_finds_the_article(kb: KnowledgeBase) -> None:
    """Titles are a retrieval field of their own (read as questions): a question that says what a
    title says, in English, finds that article (or its translation) first. Without the title field
    "Digital, but also a customer" found 001 second. Since the title word match reads both ways (a
    title the question covers counts too), 002's question ties with 000, whose Spanish title holds
    the English words "Customer Experience": 0.8462 against 0.8458 for 004, 002's translation. A tie
    is within 0.001 of the first, at rank 2."""
    titles = {
        "000": "Customer experience in the digital era",
        "001": "Digital, but also a customer",
        "002": "Customer experience is about emotions, not technology",
        "003": "The human experience: the human being at the centre of CX",
        "004": "Customer experience is a question of emotion, not of technology",
    }
    firsts = 0
    for doc_id, question in titles.items():
        hits = kb.search(question, k=5)
        mine = [h for h in hits if h.doc_id in {doc_id, *kb.index.translations(doc_id)}]
        assert mine and mine[0].rank <= 2 and hits[0].score - mine[0].score < 0.001, (question, hits[0].doc_id)
        firsts += mine[0].rank == 1
    assert firsts >= 4


def test_a_page_and_its_near_copy_are_not_both_translations_of_one_page() -> None:
    """Two applications' near-identical pages both align with the Spanish page; a work holds one
    document per language, so only the better aligned French page becomes its translation (and a
    declared `translation_of` counts: an Italian page declared a translation of the Spanish one
    leaves no room for a second Italian page)."""
    from kb.translations import discover_translations
    from kb.types import Document

    rng = np.random.default_rng(2)
    v = rng.standard_normal((4, 16))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    near = v + 0.35 * rng.standard_normal((4, 16))  # the other application's page, reworded a little
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    es = Document(doc_id="es", title="t", lang="es", body="Licencia.")
    fr = Document(doc_id="fr", title="t", lang="fr", body="Licence.")
    fr_copy = Document(doc_id="fr-copy", title="t", lang="fr", body="Licence.")
    it = Document(doc_id="it", title="t", lang="it", body="Licenza.", translation_of="es")
    it_copy = Document(doc_id="it-copy", title="t", lang="it", body="Licenza.")
    documents = [es, fr_copy, fr, it, it_copy]
    found = discover_translations([_layout(d, x) for d, x in zip(documents, [v, near, v, v, v], strict=True)])
    works = {"es": 0, "fr": 0, "it": 0, "fr-copy": 1, "it-copy": 1}  # the copies may pair with each other
    assert ("es", "fr") in [p[:2] for p in found] and all(works[a] == works[b] for a, b, _ in found)
    alone = discover_translations([_layout(es, v), _layout(fr_copy, near)])  # the copy, alone, is it
    assert [p[:2] for p in alone] == [("es", "fr-copy")]


def test_passages_in_the_questions_language_lose_a_little_unless_their_article_is_translated(
    kb: KnowledgeBase,
) -> None:
    """The question's own language starts ahead (shared tokens, the vectors' language): its passages
    lose OWN_LANGUAGE, except those of an article with translations (002 pl / 004 fr), whose
    versions compete among themselves. Other languages' scores do not move."""
    from kb.search import OWN_LANGUAGE, Ranking

    question = "Czy doświadczenie klienta dotyczy emocji czy technologii?"
    query = kb.embedder.encode_query(question)
    plain = {h.chunk_id: h for h in Ranking(kb.index, query).top(40)}
    polish = {h.chunk_id: h for h in Ranking(kb.index, query, query_lang="pl").top(40)}
    spanish = {h.chunk_id: h for h in Ranking(kb.index, query, query_lang="es").top(40)}
    assert {h.lang for h in plain.values()} >= {"es", "pl", "fr"}
    for chunk_id, hit in plain.items():
        if chunk_id in polish:  # Polish passages are all of 002, which has a French translation
            assert polish[chunk_id].score == pytest.approx(hit.score, abs=1e-6)
        if chunk_id in spanish:
            lost = OWN_LANGUAGE if hit.lang == "es" else 0.0  # the Spanish article (000) is not translated
            assert spanish[chunk_id].score == pytest.approx(hit.score - lost, abs=1e-6)
    assert kb.index.translations("002") and not kb.index.translations("000")


def test_passages_that_match_out_of_order_do_not_make_a_translation() -> None:
    """A translation keeps its order; an article on the same topic matches passages here and there.
    Six passages that all match, in order, are a translation; the same six shuffled are not."""
    from kb.translations import discover_translations
    from kb.types import Document

    rng = np.random.default_rng(3)
    v = rng.standard_normal((6, 16))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    es = Document(doc_id="es", title="t", lang="es", body="Uno. Dos. Tres. Cuatro. Cinco. Seis.")
    fr = Document(doc_id="fr", title="t", lang="fr", body="Un. Deux. Trois. Quatre. Cinq. Six.")
    assert [p[:2] for p in discover_translations([_layout(es, v), _layout(fr, v)])] == [("es", "fr")]
    shuffled = v[[3, 5, 1, 4, 0, 2]]  # longest run in order: 2 of 6
    assert discover_translations([_layout(es, v), _layout(fr, shuffled)]) == []


def test_a_short_cited_sentence_runs_on_through_the_next_one(kb: KnowledgeBase) -> None:
    """A point of a few words ("Queremos vivir experiencias.") says little alone: a cited sentence
    of fewer than MIN_POINT_WORDS words is quoted with the next sentence of its passage, unless it
    ends the passage. Every quote is still the body's text at its offsets."""
    from kb.answer import MIN_POINT_WORDS

    body = kb.document("000").body
    short = body.index("Queremos vivir experiencias.")
    answer = kb.ask("Do people want to live experiences?", k=10)
    quoted = [c for main in answer.citations for c in (main, *main.parallels)]
    assert any(c.doc_id == "000" and c.start <= short and c.end > short + 30 for c in quoted)
    for c in quoted:
        assert kb.document(c.doc_id).body[c.start : c.end] == c.quote
        chunk = kb.index.chunk(kb.index.row_of(c.chunk_id))
        if len(c.quote.split()) < MIN_POINT_WORDS:
            assert c.end == chunk.sentences[-1][1]  # the last sentence of its passage: nothing to run on to


def test_a_short_sentence_before_the_cited_one_introduces_it(kb: KnowledgeBase) -> None:
    """ "Un bel exemple en est la musique." alone answers nothing, and the sentence after it alone does
    not say what it is an example of: a sentence of fewer than INTRO_WORDS words just before the
    cited one, on the same line, is quoted with it (the rule: the next test)."""
    body = kb.document("004").body
    lead = body.index("Un bel exemple en est la musique.")
    song = body.index("Une chanson qui me touche")
    answer = kb.ask("Why does the same song please one person and annoy another?")
    quoted = [c for main in answer.citations for c in (main, *main.parallels)]
    assert any(c.doc_id == "004" and c.start == lead and c.end > song for c in quoted)
    assert all(kb.document(c.doc_id).body[c.start : c.end] == c.quote for c in quoted)


def test_which_sentences_introduce_and_run_on(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """The rule itself, on a made-up article: only a short sentence on the cited one's line introduces it;
    a short line above it (a heading, a list item) never does."""
    from kb.answer import INTRO_WORDS, MIN_POINT_WORDS

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = (
        "Un ejemplo.\n\nLa música que a uno le encanta puede irritar a otra persona del mismo público.\n\n"
        "Un ejemplo claro. La música que a uno le encanta puede irritar a otra persona del mismo público.\n\n"
        "Es así. Y punto.\n"
    )
    (corpus / "a.md").write_text(f"---\ntitle: Música\nlang: es\n---\n{body}", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, embedder=fake_embedder)  # type: ignore[arg-type]
    index = KnowledgeBase.open(settings=settings, embedder=fake_embedder).index  # type: ignore[arg-type]
    text = index.document("a").body
    spans = {
        text[slice(*index.sentence_span(int(row), MIN_POINT_WORDS, INTRO_WORDS))]
        for row in index.sentences_of_document("a")
    }
    assert "La música que a uno le encanta puede irritar a otra persona del mismo público." in spans  # line 1
    assert "Un ejemplo claro. La música que a uno le encanta puede irritar a otra persona del mismo público." in spans
    assert "Es así. Y punto." in spans  # a short sentence runs on; the next one, short too, is introduced


HELP_PAGES = {
    "es-password": (
        "es",
        "Cambiar su contraseña",
        [
            "Es recomendable cambiar la contraseña de vez en cuando, sobre todo si cree que alguien más la conoce.",
            "Abra la vista de Actividades y empiece a escribir Usuarios. Pulse en Usuarios para abrir el panel.",
            "Pulse en la etiqueta junto a Contraseña. Si va a cambiar la contraseña de otro usuario, primero "
            "tendrá que desbloquear el panel.",
            "Introduzca su contraseña actual y después la nueva. Vuelva a escribir la nueva contraseña en el "
            "campo Verificar nueva contraseña.",
            "Pulse Cambiar y la nueva contraseña quedará guardada. La próxima vez que inicie sesión tendrá que usarla.",
        ],
    ),
    "pl-password": (  # a free translation of es-password: sentences merged, split and reworded
        "pl",
        "Zmiana hasła",
        [
            "Warto co jakiś czas zmieniać hasło, zwłaszcza gdy istnieje podejrzenie, że ktoś inny je poznał.",
            "Otwórz ekran podglądu i zacznij pisać Użytkownicy. Kliknij Użytkownicy, aby otworzyć panel.",
            "Kliknij etykietę obok pola Hasło. Zmiana hasła innego użytkownika wymaga wcześniejszego "
            "odblokowania panelu.",
            "Wpisz obecne hasło, a następnie nowe, i powtórz nowe hasło w polu Potwierdzenie nowego hasła.",
            "Po kliknięciu przycisku Zmień nowe hasło zostanie zapisane; przy następnym logowaniu trzeba go używać.",
        ],
    ),
    "pl-autologin": (  # same topic, the same second step word for word, otherwise another page
        "pl",
        "Automatyczne logowanie",
        [
            "Można tak ustawić komputer, aby po uruchomieniu od razu logował użytkownika bez pytania o hasło.",
            "Otwórz ekran podglądu i zacznij pisać Użytkownicy. Kliknij Użytkownicy, aby otworzyć panel.",
            "Wybierz konto użytkownika, które ma być logowane automatycznie. Do zmiany ustawień innych kont "
            "potrzebne są uprawnienia administratora.",
            "Przełącz Automatyczne logowanie na włączone. Przy następnym uruchomieniu komputera pulpit pojawi "
            "się bez ekranu logowania.",
            "Każdy, kto ma dostęp do komputera, będzie mógł wtedy korzystać z plików tego konta, dlatego na "
            "laptopach nie jest to zalecane.",
        ],
    ),
    "fr-forgotten": (  # same topic and steps, another page
        "fr",
        "Mot de passe oublié",
        [
            "Si vous avez oublié votre mot de passe, un administrateur peut le réinitialiser pour vous.",
            "Ouvrez la vue d'ensemble des Activités et commencez à saisir Utilisateurs. Cliquez sur "
            "Utilisateurs pour ouvrir le panneau.",
            "Cliquez sur Déverrouiller dans le coin supérieur droit et saisissez le mot de passe de l'administrateur.",
            "Sélectionnez le compte dont le mot de passe a été oublié, puis choisissez Définir un mot de passe "
            "maintenant.",
            "Communiquez le nouveau mot de passe à son propriétaire et demandez-lui de le changer dès sa "
            "prochaine connexion.",
        ],
    ),
}


def test_a_free_translation_is_found_and_pages_on_the_same_topic_are_not(tmp_path: Path) -> None:
    """Real model, help pages written for this test: the Polish page translates the Spanish one
    freely (its passages' cosines to the Spanish ones are lower than many a help page's to another);
    a Polish and a French page on the same topic share a step with it word for word. Discovery links
    the translation and nothing else: passages align by how much they stand out from their
    neighbours and in proportion to their lengths, and its words must agree with the page's. (The
    sentence alignment before linked the French page, through the Polish translation.)"""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, (lang, title, paragraphs) in HELP_PAGES.items():
        body = "\n\n".join([title, *paragraphs])
        (corpus / f"{doc_id}.txt").write_text(f"---\nid: {doc_id}\ntitle: {title}\nlang: {lang}\n---\n{body}\n")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings)
    index = KnowledgeBase.open(settings=settings).index
    assert [pair[:2] for pair in index.manifest.translations] == [("es-password", "pl-password")]
    assert not index.translations("pl-autologin") and not index.translations("fr-forgotten")


def test_confident_and_the_first_hit_do_not_depend_on_k(kb: KnowledgeBase) -> None:
    """Whether an answer is `confident` is decided on the best-ranked passage, as `search` ranks it,
    and that passage is the same whether 1, 5 or 10 hits are asked for (before, `ask` with k = 1
    fetched 4 candidates and found a better passage through its per-language evidence for 10 of
    these questions; the threshold is set on the ranking's best); so are its rivals (`contested`)."""
    import json

    from .conftest import ROOT

    threshold = kb.confident_score
    questions = [json.loads(line)["question"] for line in (ROOT / "bench" / "data" / "dev.jsonl").open()]
    outcomes = set()
    for question in questions:
        best = kb.search(question, k=10)[0]
        assert kb.search(question, k=1)[0].chunk_id == best.chunk_id, question
        answers = [kb.ask(question, k=k) for k in (1, 5, 10)]
        for answer in answers:
            assert (answer.confident or answer.contested) == (best.score >= threshold), question
        assert len({(a.confident, a.contested) for a in answers}) == 1, question
        outcomes.add((answers[0].confident, answers[0].contested))
    assert outcomes == {(True, False), (False, True), (False, False)}


def test_greetings_calls_to_action_and_syndication_notices_are_never_points(kb: KnowledgeBase) -> None:
    """The bundled articles end with a greeting ("Bienvenido a la experiencia de cliente en la era
    digital."), a call to download free kits and a notice of where the post first appeared. They
    matched many principle questions and were cited as points; an answer never cites them now. The
    same cue words inside an article are instructions and stay answerable text."""
    from kb.boilerplate import is_boilerplate

    index = kb.index
    flagged = {
        (d, s)
        for d in index.documents
        for r in index.rows_of_document(d).tolist()
        for s, e in index.chunk(r).sentences
        if is_boilerplate(index.document(d).body[s:e])
    }
    assert {d for d, _ in flagged} == {"000", "002", "004"} and len(flagged) == 5
    questions = [
        "Is customer experience about emotion or technology?",
        "What role do leaders play in CX?",
        "What is customer experience?",
        "How does technology change customer experience?",
        "Should customer experiences be online or offline?",
        "Is the digital customer a new kind of customer?",
        "Wie gewinnen Unternehmen das Vertrauen des digitalen Kunden?",
        "Qu'est-ce que l'expérience client ?",
    ]
    for question in questions:
        answer = kb.ask(question)
        assert answer.points
        for citation in answer.citations:
            for c in (citation, *citation.parallels):
                assert not any(d == c.doc_id and c.start <= s < c.end for d, s in flagged), (question, c.quote)


def test_boilerplate_cues_in_several_languages() -> None:
    from kb.boilerplate import is_boilerplate

    for sentence in (
        "Welcome to the new help centre!",
        "Bienvenue dans l'expérience client à l'ère du numérique.",
        "Scarica oggi la guida gratuita.",
        "Subscribe to our newsletter.",
        "This article first appeared on Example Weekly.",
        "Questo articolo è stato pubblicato per la prima volta su un altro sito.",
        "Napisane przez Jana Kowalskiego",
        "Escrito por María López, 12 de mayo.",
        "Autor: Jan Kowalski",
        "Auteur : Jean Dupont",
        "Willkommen bei unserem Hilfezentrum.",
    ):
        assert is_boilerplate(sentence), sentence
    for sentence in (
        "Download the file, then open it in the viewer.",
        "Pulse Descargar para guardar el documento.",
        "The welcome screen shows your recent files.",
        "Los clientes valoran la experiencia gratuita de hoy.",
        "Pobieranie pliku trwa kilka sekund.",
        "Try restarting the computer now.",
        "Contacts are now synced automatically.",
        "Download and install updates; the computer will now restart.",
        "Welcome screen: choose your language now.",
        "Descargas: la carpeta ahora se llama Descargas.",
        "This article explains how to set up your first printer.",
        "Este artículo explica cómo configurar por primera vez la impresora.",
        "Contacta con tu administrador si el problema persiste.",
    ):
        assert not is_boilerplate(sentence), sentence


def test_the_cited_sentence_is_the_one_that_answers_not_its_neighbour(kb: KnowledgeBase) -> None:
    """A passage's sentences are pooled from one model pass and share its direction: the eight
    bullets of 003's list all score 0.885-0.897 against the French question, and a neighbouring
    bullet used to be cited. The sentence cited is chosen on what it says on its own and on the
    question's words in it (`Ranking.point`)."""
    cases = {
        "Les émotions des clients sont-elles au cœur de leurs décisions ?": "La centralità delle emozioni dei clienti",
        "La communication proactive doit-elle être invasive ?": "Comunicación proactiva no invasiva",
        "¿Es el cliente digital un nuevo tipo de cliente?": "no es un cliente nuevo, es el mismo de siempre",
    }
    for question, expected in cases.items():
        answer = kb.ask(question)
        quotes = [c.quote for main in answer.citations for c in (main, *main.parallels)]
        assert any(expected in quote for quote in quotes), (question, quotes)


BOOKLETS = {  # help pages that differ in little but their number, as the GNOME help's: page order to type
    "es-11": ("es", "Folleto de 11 páginas", "11, 2, 1", "10, 3, 4, 9, 8, 5, 6, 7"),
    "fr-14": ("fr", "Livret de 14 pages", "14, 1, 2, 13, 12, 3, 4, 11", "10, 5, 6, 9, 8, 7"),
    "it-13": ("it", "Opuscolo di 13 pagine", "13, 2, 1, 12, 11, 4, 3", "10, 5, 6, 9, 8, 7"),
    "pl-15": ("pl", "15-stronicowa broszura", "15, 2, 1, 14, 13, 4, 3", "12, 5, 6, 11, 10, 9, 8, 7"),
}
BOOKLET_STEPS = {
    "es": "Pulse Imprimir. En Rango, elija Páginas y escriba los números de página en este orden: {}. Pulse "
    "Imprimir. Después escriba las páginas restantes en este orden: {}.",
    "fr": "Cliquez sur Imprimer. Dans Étendue, choisissez Pages et saisissez les numéros de page dans cet "
    "ordre : {}. Cliquez sur Imprimer. Saisissez ensuite les pages restantes dans cet ordre : {}.",
    "it": "Fare clic su Stampa. In Intervallo, scegliere Pagine e digitare i numeri di pagina in questo "
    "ordine: {}. Fare clic su Stampa. Digitare poi le pagine rimanenti in questo ordine: {}.",
    "pl": "Kliknij Drukuj. W sekcji Zakres wybierz Strony i wpisz numery stron w tej kolejności: {}. "
    "Kliknij Drukuj. Następnie wpisz pozostałe strony w tej kolejności: {}.",
}


def test_a_number_the_question_names_finds_the_page_whose_title_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real model, help pages that differ in little but their number (a booklet of 11, 13, 14 or 15
    pages, each in another language): the model reads 13 and 14 as near-synonyms, so a question
    naming 13 found another booklet first; the page whose title names the number comes first now
    (search.NUMBERS), whatever the question's language. A question without a number is not moved."""
    from kb import search

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, (lang, title, first, rest) in BOOKLETS.items():
        body = f"{title}\n\n{BOOKLET_STEPS[lang].format(first, rest)}"
        (corpus / f"{doc_id}.txt").write_text(f"---\nid: {doc_id}\ntitle: {title}\nlang: {lang}\n---\n{body}\n")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings)
    kb = KnowledgeBase.open(settings=settings)
    # the pages align passage for passage and share most of their numbers, but their titles name
    # other numbers: they are not translations of each other (they were, and 13 pages led with 15)
    assert not any(kb.index.translations(doc_id) for doc_id in BOOKLETS)
    expected = {
        "Print a 13 page booklet.": "it-13",
        "13-stronicowa broszura": "it-13",
        "Livret de 13 pages": "it-13",
        "Eine 13-seitige Broschüre drucken.": "it-13",
        "Print a 14 page booklet.": "fr-14",
        "Imprimir un folleto de 15 páginas.": "pl-15",
        "Opuscolo di 11 pagine": "es-11",
    }
    for question, doc_id in expected.items():
        assert kb.search(question, k=4)[0].doc_id == doc_id, question
        assert kb.ask(question).points[0].citations[0].doc_id == doc_id, question
    without = kb.search("How do I print a booklet?", k=4)
    monkeypatch.setattr(search, "NUMBERS", 0.0)  # the number match is what finds them
    assert kb.search("How do I print a booklet?", k=4) == without
    assert [kb.search(question, k=4)[0].doc_id for question in expected] != list(expected.values())
    assert kb.search("Print a 13 page booklet.", k=4)[0].doc_id != "it-13"


def test_the_numbers_a_text_names() -> None:
    """Digit runs, leading zeros dropped, in any script's digits; a question without one names none."""
    from kb.language import numbers_in

    assert numbers_in("Error 0x80 on pages 13-16, 007") == {"0", "80", "13", "16", "7"}
    assert numbers_in("Opuscolo di ١٣ pagine") == numbers_in("１３ページ") == numbers_in("13-stronicowa") == {"13"}
    assert numbers_in("How do I print a booklet?") == frozenset()


def test_titles_that_name_numbers_must_share_one_to_be_translations() -> None:
    """Booklet pages for 11 and 7 pages are not translations of each other; a translation whose title
    says "5-8 pages" for "8 pages" (a real one in the GNOME help), or spells its number out, still can be."""
    from kb.translations import _other_numbers

    assert _other_numbers("Folleto de 11 páginas", "Livret de 7 pages")
    assert not _other_numbers("Opuscolo di 5-8 pagine", "Folleto de 8 páginas")
    assert not _other_numbers("Three ways to print", "3 façons d'imprimer")
    assert not _other_numbers("Cambiar su contraseña", "Zmiana hasła")


def test_a_question_in_a_language_no_article_is_written_in_loses_that_languages_direction(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundled articles are in es/fr/it/pl: a German question keeps its language's direction after
    `Index.neutral` and scores lower against every passage, so its answers fell under the `confident`
    threshold more often (help-centre dev, German questions in scope 0.886 against 0.96-0.98). Search now
    removes that direction too: the same articles come first, scoring higher; questions in a corpus
    language are not touched; a German question nothing answers stays not confident."""
    from kb import search

    index = kb.index
    assert index.foreign_direction("de") is not None
    assert index.foreign_direction("es") is None and index.foreign_direction("xx") is None

    def both(question: str) -> tuple[list, list]:  # (with, without) the foreign direction removed
        on = kb.search(question, k=5)
        monkeypatch.setattr(search, "FOREIGN_QUESTIONS", False)
        off = kb.search(question, k=5)
        monkeypatch.setattr(search, "FOREIGN_QUESTIONS", True)
        return on, off

    for question, expected in [
        ("Welche Rolle spielen Mitarbeiter für das Kundenerlebnis?", {"003"}),
        ("Was macht die App Be My Eyes?", {"002", "004"}),
    ]:
        on, off = both(question)
        assert on[0].doc_id in expected and off[0].doc_id in expected
        assert on[0].score > off[0].score + 0.005, (on[0].score, off[0].score)
    on, off = both("¿Cómo deberían las empresas medir el éxito?")
    assert [(h.chunk_id, h.score) for h in on] == [(h.chunk_id, h.score) for h in off]
    assert not kb.ask("Wann sollte man Tulpenzwiebeln pflanzen?").confident


def test_the_shipped_question_language_directions_are_the_default_models(real_settings: Settings) -> None:
    """kb/data/question_languages.npz is used only with the model that made it: a stale file (another
    model) would silently turn the correction off, so the default model must find its directions."""
    from kb.model.embedder import Embedder
    from kb.model.languages import question_directions

    identity = Embedder(settings=real_settings).identity
    directions = question_directions(identity.source_sha256, identity.dimension)
    assert {"de", "en", "es", "fr", "it", "pl", "pt", "nl"} <= set(directions)
    assert not directions["en"].any()  # English is what the others are measured against
    assert all(0.1 < float(np.linalg.norm(v)) < 0.5 for lang, v in directions.items() if lang != "en")
    assert question_directions("another model", identity.dimension) == {}
