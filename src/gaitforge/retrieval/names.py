"""The subject-name rule: one definition for the command line, the Python API, the service and stored names.

A name is normalised to Unicode NFKC (so full-width ``ａｌｉｃｅ`` *is* ``alice``), then must be:

* 1 to ``max_subject_length`` characters (64 by default, :class:`~gaitforge.io.silhouettes.InputLimits`);
* letters, marks and digits of any script, ``_``, ``.``, ``-`` and inner spaces, starting with a letter, digit or
  ``_``: no control characters or newlines (which would fake rows in a listing), no ``/`` or ``\\`` and no ``..``
  (which look like paths), no invisible format characters;
* written in one of the look-alike scripts only: a name mixing Latin, Cyrillic and Greek letters (``аlice`` with a
  Cyrillic ``а``) is refused, as it can only serve to pass for someone else.

:func:`confusable_skeleton` maps Cyrillic and Greek look-alikes to Latin (after case folding), so that a gallery
refuses a new name that reads like an enrolled one (``асе``, all Cyrillic, beside ``ace``):
:meth:`Gallery.enroll <gaitforge.retrieval.Gallery.enroll>` does so. Names already stored that break the rule
(galleries written before it) are listed escaped (:func:`display_name`) and can still be removed by their exact
stored name.

The confusable table is a small subset of Unicode's ``confusables.txt`` (UTS #39, "Unicode Security Mechanisms"):
the Cyrillic and Greek letters that render like Latin ones in common fonts.
"""

from __future__ import annotations

import re
import unicodedata

from gaitforge.io.silhouettes import InputLimits, InputRefused

__all__ = ["SubjectNameError", "check_subject_name", "confusable_skeleton", "display_name", "name_problem"]

#: Cyrillic / Greek letters that look like Latin ones (subset of UTS #39 confusables), lower case after casefold.
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m",
        "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q",
        "ԝ": "w", "ӏ": "l", "ь": "b",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ζ": "z",
    }
)  # fmt: skip
_LOOKALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
#: What the rule accepts among ASCII names (the common case, checked without per-character Unicode look-ups).
_ASCII_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_. -]*[A-Za-z0-9_.-])?")
_PUNCTUATION = frozenset("_.- ")


class SubjectNameError(InputRefused):
    """A subject name the rule refuses (code ``invalid_subject``); the message names where it came from."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__("invalid_subject", message, limit)


def _script(char: str) -> str | None:
    """``LATIN`` / ``CYRILLIC`` / ``GREEK`` for a letter of those scripts, else None."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    return next((s for s in _LOOKALIKE_SCRIPTS if name.startswith(s)), None)


def name_problem(name: str, max_length: int = InputLimits.max_subject_length) -> str | None:
    """What is wrong with an (already normalised) name, or None when the rule accepts it."""
    if not name:
        return "is empty; expected a name"
    if len(name) > max_length:
        return f"has {len(name)} characters; the limit is {max_length} (max_subject_length)"
    if name.isascii() and _ASCII_NAME.fullmatch(name) and ".." not in name:
        return None  # the same verdict as _character_problem, faster
    return _character_problem(name)


def _character_problem(name: str) -> str | None:
    """:func:`name_problem` character by character (any script)."""
    for i, char in enumerate(name):
        category = unicodedata.category(char)
        if char in _PUNCTUATION:
            if i == 0 and char != "_":
                return f"starts with {char!r}; expected a letter, digit or '_' first"
            continue
        if category[0] not in "LMN" or (i == 0 and category[0] == "M"):
            return (
                f"contains {unicodedata.name(char, '') or 'control character'} U+{ord(char):04X} at position {i}; "
                "expected letters, digits, '_', '.', '-' and inner spaces (no control characters, slashes or "
                "path parts)"
            )
    if name.endswith(" "):
        return "ends with a space"
    if ".." in name:
        return "contains '..'; expected no path parts"
    scripts = {s for s in map(_script, name) if s}
    if len(scripts) > 1:
        return (
            f"mixes {' and '.join(sorted(scripts))} letters, which look alike; expected one script "
            "(a mixed name passes for another person's)"
        )
    return None


def check_subject_name(name: object, where: str = "subject", max_length: int | None = None) -> str:
    """Normalise a new subject name (NFKC) and check it against the rule.

    Args:
        name: The name as given.
        where: What to name in the error (``"--subject"``, ``"field 'subject'"``, ...).
        max_length: Characters allowed (default ``InputLimits.max_subject_length``).

    Returns:
        The NFKC-normalised name.

    Raises:
        SubjectNameError: the rule refuses it (message: ``where``, the name escaped, what was expected).
    """
    limit = InputLimits.max_subject_length if max_length is None else max_length
    if not isinstance(name, str):
        raise SubjectNameError(f"{where}: subject name is {type(name).__name__}; expected a text name")
    normal = name if name.isascii() else unicodedata.normalize("NFKC", name)  # NFKC keeps ASCII as it is
    problem = name_problem(normal, limit)
    if problem is not None:
        raise SubjectNameError(f"{where}: subject name {name!r} {problem}", limit if "characters;" in problem else None)
    return normal


def confusable_skeleton(name: str) -> str:
    """Case-folded NFKC ``name`` with Cyrillic / Greek look-alikes mapped to Latin (equal skeletons read alike)."""
    return unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKES)


def display_name(name: str) -> str:
    """``name`` as is when the rule accepts it, else escaped (``repr``) so that it cannot fake terminal output."""
    return name if name_problem(name, max(len(name), 1)) is None and name.isprintable() else repr(name)
