"""Hostile queries (hypothesis): only the documented error for invalid input, never another exception."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import KBError, KnowledgeBase

EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "200"))  # per test and store; bench/fuzz.py runs thousands
SPECIALS = [
    "\u200b",
    "\u200f",
    "\u202e",
    "\ufeff",
    "\x00",
    "\x1b",
    "\r\n",
    "🙂",
    "👩‍👩‍👧",
    "ß",
    "İ",
    "\u0301",
    "|",
    "<script>",
    "\U0002fa26",  # a code point the tokenizer's character map does not hold
]
queries = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(SPECIALS + list(" aąéñ?¿")), max_size=60).map("".join),
    st.builds(lambda s, n: s * n, st.sampled_from(["experiencia ", "🙂", "\u200b", "a"]), st.integers(1, 60_000)),
    st.sampled_from(["", " ", "\n\t", "0", "12345", "???"]),
)


def check(call, text: str) -> None:
    try:
        result = call(text)
    except KBError as exc:  # the two documented errors for a query: empty, or without a word
        words = any(unicodedata.category(ch)[0] in "LN" for ch in text)
        if "empty" in str(exc):
            assert not text.strip()
        else:
            assert "has no words" in str(exc) and text.strip() and not words, exc
        return
    assert any(unicodedata.category(ch)[0] in "LN" for ch in text), "a query without a word must be refused"
    assert result is not None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries)
def test_search_never_crashes(kb: KnowledgeBase, text: str) -> None:
    check(lambda t: kb.search(t, k=3), text)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries)
def test_ask_never_crashes(kb: KnowledgeBase, text: str) -> None:
    def ask(t: str):
        answer = kb.ask(t)
        for c in answer.citations:
            assert kb.document(c.doc_id).body[c.start : c.end] == c.quote
        if len(t) > kb.settings.max_query_chars:
            assert answer.notice
        return answer

    check(ask, text)
