"""Indexing a help centre: a full rebuild's rate against plain sentence-transformers; latency at 1k and 10k articles.

Usage: python bench/helpcentre.py        # once: the GNOME help pages in es/fr/pl/it as HTML
       python bench/ingest.py [--articles 200] [--sizes 1000 10000] [--queries 100]

1. Rebuild rate: `--articles` GNOME help pages from bench/results/helpcentre (source "gnome-help" only, so
   the figures stay comparable now that it also has applications' help; the languages in turn; past its 715
   pages, copies with an edition line added, so each is a new article) are indexed with a full
   rebuild, the model already loaded: reading, chunking, the model pass, translation discovery and
   writing. The same passages are then embedded once with plain `SentenceTransformer.encode`, in the
   same run. Then both again as a user runs them, each in a fresh process: `kb rebuild --full`, and a
   script that loads sentence-transformers and encodes the passages (handed to it as text: it reads
   no HTML). Printed: articles/s, tokens/s, the share of the machine's measured fp32 rate that the
   rebuild's model FLOPs reach, the rebuild's peak RSS and index bytes per passage.
2. Latency at each of `--sizes` articles: the rebuilt records are replicated (each copy's vectors moved
   by a little noise, renormalized) into an index of that many articles, written by the index writer;
   a fresh process opens it and times `search` (k=10) and `ask` on the real pages' titles (question
   embedding included), and reports its own RSS. Replicas keep the vectors' shape and the work per
   query realistic without spending an hour embedding 10k articles; the rate comes from part 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from bench.performance import flops_per_query, matmul_gflops  # noqa: E402
from kb import KnowledgeBase, Settings, load_model  # noqa: E402
from kb.build import rebuild, token_code  # noqa: E402
from kb.chunking import embedding_text  # noqa: E402
from kb.model import Embedder  # noqa: E402
from kb.model.loading import resolve_model  # noqa: E402
from kb.storage import DocumentEntry, DocumentRecord  # noqa: E402
from kb.storage.files import write_version  # noqa: E402
from kb.storage.tokens import TokenVectors  # noqa: E402

SOURCE = ROOT / "bench" / "results" / "helpcentre"


def pick(source: Path, n: int) -> list[dict]:
    """`n` gnome-help pages, taking the languages in turn (each language's pages in name order); past the last
    page, copies (their "edition" counts up)."""
    rows = [json.loads(line) for line in (source / "pages.jsonl").read_text(encoding="utf-8").splitlines() if line]
    pages = [row for row in rows if row.get("source", "gnome-help") == "gnome-help"]
    by_lang: dict[str, list[dict]] = {}
    for page in sorted(pages, key=lambda p: p["file"]):
        by_lang.setdefault(page["lang"], []).append(page)
    order: list[dict] = []
    while any(by_lang.values()):
        for lang in sorted(by_lang):
            if by_lang[lang]:
                order.append(by_lang[lang].pop(0))
    return [{**order[i % len(order)], "edition": i // len(order)} for i in range(n)]


def write_corpus(pages: list[dict], source: Path, corpus: Path) -> None:
    for page in pages:
        name = Path(page["file"])
        target = corpus / (name.with_name(f"{name.stem}-{page['edition']}{name.suffix}") if page["edition"] else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        html = (source / page["file"]).read_text(encoding="utf-8")
        if page["edition"]:  # a new article, not a duplicate: the readers skip same-text copies
            html = html.replace("<body", f"<p>Edition {page['edition']}</p><body", 1)
        target.write_text(html, encoding="utf-8")


def p50_p95(seconds: list[float]) -> str:
    return f"{np.percentile(seconds, 50) * 1000:.1f} / {np.percentile(seconds, 95) * 1000:.1f} ms"


def replicate(kb: KnowledgeBase, size: int, target: Path, seed: int = 0) -> int:
    """Write an index of `size` articles: the index's records, then noisy copies of them. Returns passages."""
    rng = np.random.default_rng(seed)

    def jitter(m: np.ndarray) -> np.ndarray:
        m = m + rng.normal(0, 0.02, m.shape).astype(np.float32)
        return (m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    base = [kb.index.record(d) for d in kb.index.documents]
    dim = kb.index.manifest.model.dimension
    records: list[DocumentRecord] = []
    for i in range(size):
        r = base[i % len(base)]
        if i < len(base):
            records.append(r)
            continue
        doc_id = f"{r.document.doc_id}-copy{i // len(base)}"
        records.append(
            DocumentRecord(
                document=replace(r.document, doc_id=doc_id, path=f"copies/{doc_id}.html", translation_of=""),
                chunks=tuple(replace(c, doc_id=doc_id, chunk_id=f"{doc_id}#{j}") for j, c in enumerate(r.chunks)),
                chunk_vectors=jitter(r.chunk_vectors),
                sentence_vectors=jitter(r.sentence_vectors),
                context_vectors=jitter(r.context_vectors),
                token_vectors=TokenVectors.encode(
                    list(map(jitter, r.token_vectors.per_chunk())),
                    r.token_vectors.sentences_per_chunk(),
                    r.token_vectors.code,
                ),
                title_vector=jitter(r.title_vector.reshape(1, dim))[0],
                title_tokens=r.title_tokens,
                heading_vectors=jitter(r.heading_vectors) if len(r.heading_vectors) else r.heading_vectors,
            )
        )
    documents = {
        r.document.doc_id: DocumentEntry(r.document.path, r.document.content_hash, r.document.lang) for r in records
    }
    spec = Settings.from_env().index_spec  # this code's layout (the source index may be older)
    manifest = replace(kb.index.manifest, documents=documents, translations=(), vector_index=spec)
    write_version(target, records, manifest, kb.index.adapter.to_array())
    return sum(len(r.chunks) for r in records)


PLAIN = """
import json, sys
from sentence_transformers import SentenceTransformer
texts = json.load(open(sys.argv[2], encoding="utf-8"))
model = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
model.encode(texts, prompt_name="passage", batch_size=int(sys.argv[3]), normalize_embeddings=True)
"""


def cold(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of a command in a fresh process (its start, imports and model load included)."""
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True, env=env)
    return time.perf_counter() - started


LATENCY = """
import json, sys, time
import numpy as np
from kb import KnowledgeBase, Settings
kb = KnowledgeBase.open(settings=Settings.from_env(index_dir=sys.argv[1]), allow_stale=True)
questions = json.loads(sys.argv[2])
kb.search("warm up", k=10)
out = {"search": [], "ask": [], "recall": []}
for q in questions:
    t = time.perf_counter(); kb.search(q, k=10); out["search"].append(time.perf_counter() - t)
for q in questions:
    t = time.perf_counter(); kb.ask(q + " ?"); out["ask"].append(time.perf_counter() - t)
passages = kb.index._passages  # recall@10 of the passage vector set against an exact scan
for q in questions:
    v = kb.index.neutral(kb.embedder.encode_query(q).vector)
    exact = set(np.argsort(-(passages.vectors() @ v))[:10].tolist())
    out["recall"].append(len(exact & set(passages.search(v, 10)[1].tolist())) / 10)
# ru_maxrss would report the parent's peak (it survives exec); VmHWM is this process's own
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
out["rss"] = int(status["VmHWM"].split()[0]) / 1024
out["kind"] = passages.kind
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    if not (args.source / "pages.jsonl").is_file():
        raise SystemExit(f"no help-centre pages in {args.source}: run `python bench/helpcentre.py` first")
    print(f"machine: {describe()}")
    pages = pick(args.source, args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(pages, args.source, corpus)
        settings = Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        embedder = Embedder(settings.model, settings)
        embedder.warm_up()  # the model load is not part of the rebuild's rate,
        started = time.perf_counter()
        token_code(embedder, settings)  # nor learning the token codebook (once per model, then cached)
        code_seconds = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        report = rebuild(settings, full=True, embedder=embedder)
        ours = time.perf_counter() - started
        rss_rebuild = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kb = KnowledgeBase.open(settings=settings, embedder=embedder)
        chunks = kb.index.chunks()
        texts = [embedding_text(c, kb.document(c.doc_id).title) for c in chunks]
        prompt = embedder.identity.prompts.get("passage", "")
        tokens = sum(embedder.count_tokens(prompt + t) + 2 for t in texts)  # with prompt, <s> and </s>
        index_bytes = sum(f.stat().st_size for f in kb.index.path.iterdir())
        token_bytes, codebook_bytes = ((kb.index.path / f).stat().st_size for f in ("tokens.npy", "token_code.npy"))
        model = load_model()
        started = time.perf_counter()
        model.encode(texts, prompt_name="passage", batch_size=settings.embed_batch_size, normalize_embeddings=True)
        plain = time.perf_counter() - started
        # The same two as commands a user runs: `kb rebuild --full` (reading the HTML too) against a
        # fresh process that loads sentence-transformers and embeds the passages (given as text).
        texts_file = Path(tmp) / "passages.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        model_dir = Path(str(resolve_model(settings.model, settings)[0]))
        env = {**os.environ, "KB_CORPUS_DIR": str(corpus), "KB_INDEX_DIR": str(Path(tmp) / "index-cold")}
        ours_cold = cold([sys.executable, "-m", "kb", "rebuild", "--full"], env)
        plain_cold = cold(
            [sys.executable, "-c", PLAIN, str(model_dir), str(texts_file), str(settings.embed_batch_size)]
        )
        gflops = matmul_gflops()
        lengths = [embedder.count_tokens(prompt + t) + 2 for t in texts]
        model_flops = sum(flops_per_query(model_dir, n) for n in lengths)
        questions = [d.title for d in kb.documents()][: args.queries]
        latency: list[tuple[int, int, dict]] = []
        for size in args.sizes:
            target = Path(tmp) / f"index-{size}"
            passages = replicate(kb, size, target)
            proc = subprocess.run(
                [sys.executable, "-c", LATENCY, str(target), json.dumps(questions)],
                capture_output=True, text=True, cwd=ROOT, check=True,
            )  # fmt: skip
            latency.append((size, passages, json.loads(proc.stdout.strip().splitlines()[-1])))
            shutil.rmtree(target)
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(report.chunks_per_language.items()))
    print(
        f"\n{report.documents} articles ({langs} passages), {len(chunks)} passages, {tokens} tokens read by the model"
    )
    print("\n| measure | value |\n|---|---|")
    print(
        f"| full rebuild (model loaded) | {ours:.1f} s: **{report.documents / ours:.2f} articles/s**, "
        f"{tokens / ours:.0f} tokens/s |"
    )
    print(
        f"| plain SentenceTransformer.encode of the same passages, once | {plain:.1f} s "
        f"({report.documents / plain:.2f} articles/s); ours takes {ours / plain:.2f}× its time |"
    )
    print(
        f"| as commands in fresh processes: `kb rebuild --full` / loading sentence-transformers and encoding the "
        f"passages | {ours_cold:.1f} s / {plain_cold:.1f} s: ours takes **{ours_cold / plain_cold:.2f}×** its time |"
    )
    print(
        f"| model FLOPs of the rebuild / measured fp32 rate | {model_flops / 1e9:.0f} GFLOP / {gflops:.0f} GFLOP/s "
        f"= {model_flops / gflops / 1e9:.1f} s: **{model_flops / gflops / 1e9 / ours * 100:.0f} %** of the rebuild |"
    )
    print(
        f"| index bytes per passage | {index_bytes / max(len(chunks), 1):,.0f} (token vectors "
        f"{token_bytes / max(len(chunks), 1):,.0f}; the token codebook, {codebook_bytes:,} bytes an index, "
        f"learned once per model in {code_seconds:.1f} s here) |"
    )
    print(f"| peak RSS: model loaded / after the rebuild | {rss_before:.0f} / {rss_rebuild:.0f} MiB |")
    for size, passages, got in latency:
        print(
            f"| {size:,} articles ({passages:,} passages): search p50 / p95 | {p50_p95(got['search'])}; "
            f"ask {p50_p95(got['ask'])}; query process peak RSS {got['rss']:.0f} MiB; passage search "
            f"{got['kind']}, recall@10 {np.mean(got['recall']):.3f} |"
        )


if __name__ == "__main__":
    main()
