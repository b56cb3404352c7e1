"""Expected failures: one clear line for the user, never a traceback, never personal data."""


class ZhijingError(Exception):
    """An expected failure (bad parameter, bad input, unreachable service).

    The message is shown to the user as one line; it must not contain personal data.
    """

    exit_code = 2


class AccessDenied(ZhijingError):
    """A request refused by the access layer (identity, purpose, need to know)."""

    exit_code = 3


class NotReady(ZhijingError):
    """What a request needs has not been built yet (no serving store, no model): try later."""
