"""No unsafe loading or rendering anywhere in the code: no pickle, no allow_pickle, no unsafe HTML."""

from __future__ import annotations

import re
import socket

import pytest

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


def test_network_guard_records_and_refuses(no_network: list[str]) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert no_network and "192.0.2.1" in no_network[0]
    no_network.clear()  # this attempt was made on purpose
