"""The shape docs/how-it-works.md describes holds: which module may import which, and the docs' links resolve."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .conftest import ROOT

KB = ROOT / "kb"


def imported(path: Path) -> set[str]:
    """The modules `path` imports, as absolute names (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("backend", "others"),
    [
        ("files.py", {"kb.storage.pgvector", "kb.storage.pgserver"}),
        ("faiss.py", {"kb.storage.pgvector", "kb.storage.pgserver", "kb.storage.files"}),
        ("pgvector.py", {"kb.storage.files", "kb.storage.faiss"}),
        ("pgserver.py", {"kb.storage.files", "kb.storage.faiss", "kb.storage.pgvector"}),
    ],
)
def test_no_storage_backend_imports_another(backend: str, others: set[str]) -> None:
    assert not imported(KB / "storage" / backend) & others


def test_shared_storage_modules_import_no_backend() -> None:
    backends = {f"kb.storage.{name}" for name in ("files", "faiss", "pgvector", "pgserver")}
    for shared in ("base.py", "tokens.py"):
        assert not imported(KB / "storage" / shared) & backends, shared


def test_the_rebuild_and_the_answers_import_no_model_runtime() -> None:
    runtimes = {"kb.model.onnx", "kb.model.torch", "onnxruntime", "torch", "sentence_transformers"}
    for module in ("build.py", "index.py", "search.py", "answer.py", "knowledge_base.py", "service.py"):
        assert not imported(KB / module) & runtimes, module


def test_nothing_under_kb_imports_streamlit() -> None:
    for path in KB.rglob("*.py"):
        assert not any(name.split(".")[0] == "streamlit" for name in imported(path)), path


def test_only_the_storage_package_chooses_a_backend() -> None:
    """`open_store` is the one place a backend is picked: nothing outside kb/storage names one."""
    for path in KB.rglob("*.py"):
        if "storage" in path.relative_to(KB).parts:
            continue
        names = imported(path)
        assert not {n for n in names if n.startswith(("kb.storage.files", "kb.storage.pgvector"))}, path


def test_every_link_in_the_docs_resolves() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
