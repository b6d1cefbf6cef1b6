"""Sentences that speak to the reader about the page, not about its subject: greetings, calls to
action, syndication notices, bylines. They are never an answer's point.

Such sentences sit at an article's edges, so only the first and the last EDGE passages are
checked, against cue phrases in the corpus languages and English, German and Portuguese. A cue in
the middle of an article ("Download the file, then open it.") is an instruction, and stays.
"""

from __future__ import annotations

import re

EDGE = 2  # passages at each end of an article where such sentences are looked for

_GREETING = r"(welcome|bienvenid[oa]s?|bienvenue|benvenut[oiae]|witaj(cie)?|witamy|willkommen|bem-vind[oa]s?)\b"
_ACTION = (
    r"(download|descarg\w*|t[ée]l[ée]charge\w*|scaric\w*|pobierz\w*|herunterladen|baix[ea]\w*"
    r"|subscribe|suscr[ií]b\w*|abonnez|iscriviti|subskrybuj|zapisz się|abonnier\w*|assine"
    r"|sign up|reg[ií]str\w*|inscri\w*|zarejestruj\w*|contact us|cont[aá]ct\w*|skontaktuj\w*|kontaktieren"
    r"|follow us|s[ií]gu?enos|suivez|seguici|obserwuj|folgen sie|get|try|prueb\w*|essayez|prova\w*|wypróbuj\w*)\b"
)
_OFFER = (
    r"\b(free|gratis|gratuit\w*|bezpłatn\w*|darmow\w*|kostenlos\w*|today|hoy|aujourd'hui|oggi|dziś|heute|hoje"
    r"|now|ahora|maintenant|subito|teraz|jetzt|agora|newsletter)\b"
)
_SYNDICATED = (
    r"\b(this (post|article)|este art[ií]culo|esta entrada|ce (message|billet|post)|cet article|questo (articolo|post)"
    r"|ten (post|artykuł)|dieser (beitrag|artikel)|este (post|artigo))\b.*\b(first|originally|por primera vez|"
    r"originalmente|pour la première fois|initialement|per la prima volta|originariamente|po raz pierwszy|"
    r"pierwotnie|erstmals|ursprünglich|pela primeira vez)\b"
)
_BYLINE = (
    r"((written|posted|published) by|escrito por|publicado por|écrit par|publié par|scritto da|pubblicato da"
    r"|napisa\w* przez|autor(ka)?:|author:|auteur\s?:|autore:|geschrieben von|verfasst von)\b"
)
_PATTERNS = (
    re.compile(r"^\W*" + _GREETING, re.IGNORECASE),
    re.compile(r"^\W*" + _ACTION + r".*" + _OFFER, re.IGNORECASE),
    re.compile(_SYNDICATED, re.IGNORECASE),
    re.compile(r"^\W*" + _BYLINE, re.IGNORECASE),
)


def is_boilerplate(sentence: str) -> bool:
    """Does the sentence greet the reader, call for an action with an offer, say where the page was
    first published, or name its author?"""
    return any(p.search(sentence) for p in _PATTERNS)
