"""The deployment's settings file (app.toml): what each interface language gets, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import KBError
from kb.corpus import corpus_files
from kb.presentation import Presentation, load_presentation


def test_each_field_from_the_language_then_the_top_level(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text('title = "Help"\nexamples = ["How do I reset my password?"]\n[fr]\ntitle = "Aide"\n', "utf-8")
    assert load_presentation(path, "fr") == Presentation("Aide", None, None, ("How do I reset my password?",))
    assert load_presentation(path, "pl") == Presentation("Help", None, None, ("How do I reset my password?",))
    assert load_presentation(tmp_path / "none.toml", "fr") == Presentation()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('title = "Help\n', "cannot read"),
        ('tittle = "Help"\n', "unknown setting 'tittle'"),
        ('[es]\nplaceholder = ""\n', "placeholder in [es] must be a non-empty string"),
        ("examples = 3\n", "must be a list of questions"),
        (f"examples = {['Q?'] * 9}\n".replace("'", '"'), "at most 8"),
    ],
)
def test_a_file_that_cannot_be_used_is_refused_with_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "app.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(KBError, match="app.toml") as caught:
        load_presentation(path, "es")
    assert says in str(caught.value)


def test_the_settings_file_is_not_an_article(tmp_path: Path) -> None:
    (tmp_path / "app.toml").write_text('title = "Help"\n', "utf-8")
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "app.toml").write_text("x", "utf-8")  # below the top: a file like any other
    (tmp_path / "a.md").write_text("# A\n\nText.\n", "utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)] == ["a.md", "guides/app.toml"]
