"""Bearer-token access to the API: a token file, two roles, and the check made before a request body is read.

A token file holds one token per line, optionally followed by its role::

    # gaitforge serve --token-file tokens.txt
    Jx2Vd0m8c4HqfS1kVNwzYQ5cQ7uT0gkLb3rE9aPz  write
    p7mX0sQk2LwV9cR4yT1uZ6eN3bH8jD5fA0gK2oMi  read

``read`` (identify, info, list and show subjects) or ``write`` (all of read, and enroll and delete; the default).
Blank lines and ``#`` comments are skipped. Tokens are at least :data:`MIN_TOKEN_CHARS` characters without spaces;
``python -c "import secrets; print(secrets.token_urlsafe(32))"`` makes one. Only their SHA-256 digests are kept
in memory, and a presented token is compared with every digest in constant time (``hmac.compare_digest``).

Clients send ``Authorization: Bearer <token>``. ``/api/v1/health``, the web page, its static files and the API's
schema (``/api/docs``, ``openapi.json``) stay open; every other ``/api/v1`` route needs a token, answered ``401``
without a valid one and ``403`` for a read token on a write route. A client address that sends more than
``ServiceLimits.max_token_failures`` bad tokens in a minute gets ``429`` until the minute has passed
(:class:`FailureWindow`; per server process, and behind a reverse proxy the address is the proxy's).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MIN_TOKEN_CHARS", "ROLES", "FailureWindow", "TokenFileError", "Tokens", "required_role"]

#: the roles a token may have, weakest first
ROLES = ("read", "write")
#: shortest token accepted from a token file
MIN_TOKEN_CHARS = 24
#: routes under the API prefix that need no token
OPEN_PATHS = frozenset({"/health", "/openapi.json"})


class TokenFileError(ValueError):
    """A token file that cannot be used: names the file, the line and what was expected (never the token)."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class Tokens:
    """Token digests and their roles; ``source`` is where they were read from (for messages)."""

    digests: tuple[tuple[bytes, str], ...]
    source: str = "<memory>"

    @classmethod
    def from_pairs(cls, pairs: dict[str, str], source: str = "<memory>") -> Tokens:
        """From ``{token: role}`` (tests and embedding applications)."""
        for token, role in pairs.items():
            _check(token, role, source)
        return cls(tuple((_digest(t), r) for t, r in pairs.items()), source)

    @classmethod
    def from_file(cls, path: str | Path) -> Tokens:
        """Read a token file (format in the module docstring); :class:`TokenFileError` says what is wrong."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TokenFileError(f"{path}: no such token file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenFileError(f"{path}: cannot read the token file ({exc.__class__.__name__})") from None
        seen: dict[bytes, int] = {}
        digests: list[tuple[bytes, str]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) > 2:
                raise TokenFileError(f"{path}:{number}: expected 'TOKEN [read|write]', found {len(words)} words")
            token, role = words[0], words[1] if len(words) == 2 else "write"
            _check(token, role, f"{path}:{number}")
            digest = _digest(token)
            if digest in seen:
                raise TokenFileError(f"{path}:{number}: the same token as line {seen[digest]}")
            seen[digest] = number
            digests.append((digest, role))
        if not digests:
            raise TokenFileError(f"{path}: no token in the file; expected lines 'TOKEN [read|write]'")
        return cls(tuple(digests), str(path))

    def role_of(self, authorization: str | None) -> str | None:
        """The role of the token in an ``Authorization`` header value, or ``None`` (missing, malformed, unknown)."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            return None
        presented = _digest(token)
        role = None
        for digest, r in self.digests:  # every entry compared: the time does not tell which one matched
            if hmac.compare_digest(presented, digest):
                role = r
        return role

    def __repr__(self) -> str:  # never the digests
        return f"Tokens({len(self.digests)} from {self.source})"


def _check(token: str, role: str, where: str) -> None:
    if role not in ROLES:
        raise TokenFileError(f"{where}: role {role!r}; expected one of {list(ROLES)}")
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token) or not token.isprintable():
        raise TokenFileError(
            f"{where}: a token of {len(token)} characters; expected at least {MIN_TOKEN_CHARS} printable characters "
            'without spaces (python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


def required_role(method: str, route: str) -> str | None:
    """The role a request needs: ``None`` for the open routes, ``read`` for reads and identify, else ``write``.

    ``route`` is the path under the API prefix (``/identify``, ``/subjects/alice``).
    """
    if route in OPEN_PATHS:
        return None
    if method in ("GET", "HEAD", "OPTIONS") or (method == "POST" and route == "/identify"):
        return "read"
    return "write"


class FailureWindow:
    """Failed token attempts per client address over a sliding window, in bounded memory.

    Args:
        limit: Failures allowed per address within ``window_s``; the next request is refused until the oldest
            of them leaves the window.
        window_s: Window length in seconds.
        max_clients: Addresses remembered; the least recently failing ones are forgotten first.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_clients < 1:
            raise ValueError(
                f"FailureWindow: limit {limit}, window_s {window_s}, max_clients {max_clients}; expected > 0"
            )
        self.limit, self.window_s, self.max_clients, self.clock = limit, window_s, max_clients, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def wait_s(self, client: str) -> float:
        """Seconds ``client`` must wait before its next attempt (0 when it may try now)."""
        now = self.clock()
        times = self._recent(client, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window_s - now)

    def record(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        now = self.clock()
        times = self._recent(client, now)
        if times is None:
            times = self._failures[client] = deque(maxlen=self.limit)
        times.append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
