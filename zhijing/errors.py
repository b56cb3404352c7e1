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


class Conflict(ZhijingError):
    """The request lost a race or repeats a change already made (a unit already taken, an incident
    already closed): the API answers 409 with one line saying what stands."""


class NotFound(ZhijingError):
    """No such thing (an unknown incident, unit or assignment): the API answers 404."""
