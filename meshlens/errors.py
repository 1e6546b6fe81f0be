"""The one exception hierarchy of meshlens: every error says what went wrong and where."""

from __future__ import annotations


class MeshlensError(Exception):
    """Base exception for meshlens errors."""


class DecodeError(MeshlensError, ValueError):
    """A MeshCore frame could not be decoded; carries the reason and the byte offset."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} (at byte {offset})")
        self.reason = reason
        self.offset = offset


class ConfigError(MeshlensError, ValueError):
    """A setting has a bad value; names the key and what was expected."""

    def __init__(self, key: str, expected: str, got: object = None) -> None:
        detail = f"config key {key!r}: expected {expected}"
        if got is not None:
            detail += f", got {got!r}"
        super().__init__(detail)
        self.key = key
        self.expected = expected


class InputError(MeshlensError, ValueError):
    """Outside input (a message, a line, a row, a request body) was rejected.

    `reason` is a short stable token used as a counter label (e.g. ``bad_json``);
    `where` says where the input came from (``file.jsonl:12``, a topic, a field).
    """

    def __init__(self, reason: str, where: str, detail: str = "") -> None:
        text = f"{where}: {reason}"
        if detail:
            text += f": {detail}"
        super().__init__(text)
        self.reason = reason
        self.where = where
        self.detail = detail


class TooLargeError(InputError):
    """A request body (or a message) is larger than meshlens accepts."""


class AuthError(MeshlensError):
    """A request that needs the API key came without it, or with a wrong one."""


class DisabledError(MeshlensError):
    """An endpoint is switched off by the configuration; says which setting enables it."""


class QueryError(MeshlensError, ValueError):
    """A request parameter is malformed; names the parameter and what is accepted."""

    def __init__(self, parameter: str, accepted: str, got: object = None) -> None:
        text = f"parameter {parameter!r}: expected {accepted}"
        if got is not None:
            text += f", got {got!r}"
        super().__init__(text)
        self.parameter = parameter
        self.accepted = accepted


class NotFoundError(MeshlensError, LookupError):
    """A named thing (node, observer, packet, channel) does not exist."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"{what} not found: {key}")
        self.what = what
        self.key = key


class NotReadyError(MeshlensError):
    """The store is still loading; the caller should retry after `retry_after_s`."""

    def __init__(self, retry_after_s: int = 5) -> None:
        super().__init__("analytics warming up")
        self.retry_after_s = retry_after_s


class StorageError(MeshlensError):
    """The database could not be opened, migrated or written."""


class NotBuiltError(MeshlensError):
    """An analytic is registered but its compute has not landed in this build yet."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not available in this meshlens build yet")
        self.name = name


class ExpiredError(MeshlensError):
    """Something a client referred to (a page snapshot) is no longer kept."""


class AmbiguousError(MeshlensError, LookupError):
    """A key names more than one thing (a public-key prefix shared by several nodes)."""
