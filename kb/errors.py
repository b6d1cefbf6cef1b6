"""The one exception type for errors a user can cause and fix."""

REBUILD_HINT = "run `kb rebuild`"


class KBError(Exception):
    """A user-facing error whose message says what went wrong and what to do about it."""
