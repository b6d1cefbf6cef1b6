"""The one exception type for errors a user can cause and fix, and its one kind the app acts on."""

REBUILD_HINT = "run `kb rebuild`"


class KBError(Exception):
    """A user-facing error whose message says what went wrong and what to do about it."""


class IndexUnusable(KBError):
    """The index cannot be used as it is: missing, damaged (a file corrupted, cut short or changed while
    served), of an older format, built with another model, or stale (the corpus changed since). A
    rebuild replaces it; the app offers its "Rebuild the index now" button for this error only."""


class NotFound(KBError):
    """Something asked for by name that the knowledge base does not hold (an article id)."""
