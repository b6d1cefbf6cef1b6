"""An incremental rebuild against a full one, as a user would run them (the check of the index-core issue).

Usage: python bench/incremental.py

Copies corpus/ to a temporary directory, runs `kb rebuild --full`, appends a paragraph to one
article, runs a plain `kb rebuild` (incremental), then `kb rebuild --full` of the same corpus into
a fresh index, and compares the two: top-10 order and scores for a fixed multilingual question
list, and whether off-topic questions are answered `confident`. Prints the figures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402

QUESTIONS = [
    "Is customer experience about emotion or technology?",
    "¿Cómo medir el éxito de la experiencia de cliente?",
    "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
    "Perché l'essere umano è al centro della customer experience?",
    "Pourquoi les émotions comptent-elles pour les marques ?",
    "Welche Rolle spielen Führungskräfte für die Kundenerfahrung?",
    "How does patience turn a complaint into a recommendation?",
    "What does Be My Eyes do?",
]
OFF_TOPIC = ["What is the capital of Australia?", "How do I bake sourdough bread?", "Who won the 1998 World Cup?"]
PARAGRAPH = "\n\nLa paciencia del equipo de atención al cliente convierte una queja en una recomendación.\n"


def kb_cli(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kb", *args], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp:
        corpus, incremental, full = Path(tmp) / "corpus", Path(tmp) / "index", Path(tmp) / "full"
        shutil.copytree(ROOT / "corpus", corpus)
        seconds = kb_cli("--corpus", str(corpus), "--index", str(incremental), "rebuild", "--full")
        print(f"kb rebuild --full: {seconds:.1f} s")
        edited = next(corpus.glob("001_*.txt"))
        edited.write_text(edited.read_text(encoding="utf-8") + PARAGRAPH, encoding="utf-8")
        seconds = kb_cli("--corpus", str(corpus), "--index", str(incremental), "rebuild")
        print(f"kb rebuild after appending a paragraph to {edited.name}: {seconds:.1f} s")
        kb_cli("--corpus", str(corpus), "--index", str(full), "rebuild", "--full")
        a = KnowledgeBase.open(settings=Settings.from_env(corpus_dir=corpus, index_dir=incremental))
        b = KnowledgeBase.open(settings=Settings.from_env(corpus_dir=corpus, index_dir=full), embedder=a.embedder)
        worst, same_order, top_scores = 0.0, 0, []
        for question in QUESTIONS:
            hits_a, hits_b = a.search(question, k=10), b.search(question, k=10)
            same_order += [h.chunk_id for h in hits_a] == [h.chunk_id for h in hits_b]
            worst = max([worst, *(abs(x.score - y.score) for x, y in zip(hits_a, hits_b, strict=True))])
            top_scores.append(hits_a[0].score)
        print(f"questions: {len(QUESTIONS)}; same top-10 order: {same_order}/{len(QUESTIONS)}")
        print(f"largest score difference, incremental vs full: {worst:.2e}")
        print(f"top scores (incremental): {min(top_scores):.3f} – {max(top_scores):.3f}")
        found = a.search(QUESTIONS[6], k=1)[0]
        print(f"the appended paragraph's question finds: {found.doc_id} {found.text[:60]!r} ({found.score:.3f})")
        confident = [q for q in OFF_TOPIC if a.ask(q).confident or b.ask(q).confident]
        print(f"off-topic questions answered confident: {len(confident)}/{len(OFF_TOPIC)}")
        low, high = a.stats().token_norms
        print(f"token-vector norms (incremental index): {low:.4f} – {high:.4f}")


if __name__ == "__main__":
    main()
