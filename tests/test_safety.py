"""No unsafe loading or rendering anywhere in the code: no pickle, no allow_pickle, no unsafe HTML."""

from __future__ import annotations

import re

from .conftest import ROOT

FORBIDDEN = re.compile(r"import pickle|pickle\.loads?\(|allow_pickle\s*=\s*True|unsafe_allow_html|torch\.load\(")


def test_source_tree_has_no_unsafe_loading() -> None:
    assert FORBIDDEN.search("st.markdown(text, unsafe_allow_html=True)")  # the pattern itself works
    offenders = []
    for path in [ROOT / "app.py", *(ROOT / "kb").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, offenders
