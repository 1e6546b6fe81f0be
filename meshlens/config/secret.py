"""A wrapper that keeps passwords and keys out of logs, reprs and error messages."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Secret:
    """A string that repr and str show only as asterisks; call `reveal()` to use it."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The wrapped value, for the one place that needs it (a login, a cipher)."""
        return self._value

    def matches(self, candidate: str | bytes) -> bool:
        """Compare in constant time, so a wrong API key leaks nothing through timing."""
        given = candidate.encode() if isinstance(candidate, str) else candidate
        return hmac.compare_digest(self._value.encode(), given)

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"
