"""Sentences that speak to the reader about the page, not about its subject: greetings, calls to
action, syndication notices, bylines. They are never an answer's point.

Such sentences sit at an article's edges, so only the first and the last EDGE passages are
checked, against cue phrases in the corpus languages and English, German and Portuguese. A cue in
the middle of an article ("Download the file, then open it.") is an instruction, and stays.
"""

from __future__ import annotations

import re

EDGE = 2  # passages at each end of an article where such sentences are looked for

# a greeting word, then a preposition or punctuation ("Welcome screen" is a screen)
_GREETING = (
    r"(welcome|bienvenid[oa]s?|bienvenue|benvenut[oiae]|witaj(cie)?|witamy|willkommen|bem-vind[oa]s?)"
    r"(\s+(to|a|al|à|au|aux|dans|sur|chez|in|nel\w*|su|w|we|na|do|bei|im|zu|auf|ao|em|no|na)\b|\s*[!,.:]|\s*$)"
)
# an imperative call ...
_ACTION = (
    r"(download|descarg(a|ue|ad)|desc[aá]rga(te|lo|la|los)|t[ée]l[ée]chargez|scaricat?e?|pobierz|laden sie|baixe"
    r"|subscribe|suscr[ií]b(ete|ase|anse)|abonnez-vous|iscriviti|subskrybuj|zapisz się|abonnieren sie|assine"
    r"|sign up|reg[ií]str(ate|ese|ati)|inscrivez-vous|inscr[ií]bete|zarejestruj się|contact us|cont[aá]cta(nos|te)"
    r"|contactez-nous|contattaci|skontaktuj się|kontaktieren sie uns|follow us|s[ií]guenos|suivez-nous|seguici"
    r"|obserwuj nas|folgen sie uns|get (it|yours|your|our)|try (it|our)|pru[eé]ba(lo)?|essayez|provalo|wypróbuj)\b"
)
# ... with an offer (free, today, a newsletter); "now" is in too many instructions to count
_OFFER = (
    r"\b(free|gratis|gratuit\w*|bezpłatn\w*|darmow\w*|kostenlos\w*|today|hoy|aujourd'hui|oggi|dziś|heute|hoje"
    r"|newsletter)\b"
)
# where the page was first published
_SYNDICATED = (
    r"\b(this (post|article)|este art[ií]culo|esta entrada|ce (message|billet|post)|cet article|questo (articolo|post)"
    r"|ten (post|artykuł)|dieser (beitrag|artikel)|este (post|artigo))\b.*("
    r"\b(first|originally) (appeared|published|posted)|\bappeared first|apareci[oó] (por primera vez|originalmente)"
    r"|publicad[oa] (originalmente|por primera vez|pela primeira vez)|pour la première fois|initialement publié"
    r"|(pubblicato|apparso) (per la prima volta|originariamente)|po raz pierwszy (pojawił|ukazał|opublikowan)"
    r"|pierwotnie (opublikowan|ukazał)|(erstmals|ursprünglich) (erschienen|veröffentlicht))"
)
_BYLINE = (
    r"(((written|posted|published) by|escrito por|publicado por|écrit par|publié par|scritto da|pubblicato da"
    r"|napisa\w* przez|geschrieben von|verfasst von)\b|(autor(ka|a)?|author|auteur|autore)\s*:)"
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
