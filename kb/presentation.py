"""How a deployment presents itself: title, intro, chat placeholder and example questions, per interface language."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import KBError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILE_NAME = "app.toml"  # at the corpus's top level; the corpus scan leaves it out
FIELDS = ("title", "intro", "placeholder", "examples")
MAX_EXAMPLES = 8
MAX_BYTES = 100_000


@dataclass(frozen=True)
class Presentation:
    """What the deployment's settings file says for one interface language; None where it says nothing
    (the app's own wording then, and example questions drawn from the corpus: `KnowledgeBase.examples`)."""

    title: str | None = None
    intro: str | None = None
    placeholder: str | None = None
    examples: tuple[str, ...] | None = None


def presentation_file(corpus_dir: Path, configured: Path | None = None) -> Path:
    """The settings file: KB_APP_CONFIG when set, else app.toml at the top of the corpus."""
    return configured if configured is not None else corpus_dir / FILE_NAME


def load_presentation(path: Path, lang: str) -> Presentation:
    """The presentation for interface language `lang`: each field from the file's `[lang]` table, else
    from its top level (every language), else None. No file: all None. A file that cannot be read or
    says something else than these fields is a KBError naming the file and the problem.

        title = "Help centre"                     # every language
        [es]
        title = "Centro de ayuda"
        intro = "Pregunta en cualquier idioma."
        placeholder = "¿Qué necesitas saber?"
        examples = ["¿Cómo cambio mi contraseña?", "¿Cómo exporto un informe?"]
    """
    if not path.is_file():
        return Presentation()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise KBError(f"{path} is {path.stat().st_size:,} bytes; the app's settings file may have {MAX_BYTES:,}")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KBError(f"cannot read the app's settings in {path}: {exc}") from None
    for key, value in data.items():
        if isinstance(value, dict):
            _check(path, f"[{key}]", value)
    _check(path, "the top level", {k: v for k, v in data.items() if not isinstance(v, dict)})
    section = data.get(lang, {})
    chosen = {name: section.get(name, data.get(name)) for name in FIELDS}
    examples = chosen["examples"]
    return Presentation(
        title=chosen["title"],
        intro=chosen["intro"],
        placeholder=chosen["placeholder"],
        examples=tuple(examples) if examples is not None else None,
    )


def _check(path: Path, where: str, table: dict[str, Any]) -> None:
    for key, value in table.items():
        if key not in FIELDS:
            raise KBError(f"{path}: unknown setting {key!r} in {where}; the settings are {', '.join(FIELDS)}")
        if key == "examples":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise KBError(f"{path}: examples in {where} must be a list of questions (non-empty strings)")
            if len(value) > MAX_EXAMPLES:
                raise KBError(f"{path}: {len(value)} examples in {where}; at most {MAX_EXAMPLES} fit on the page")
        elif not isinstance(value, str) or not value.strip():
            raise KBError(f"{path}: {key} in {where} must be a non-empty string")
