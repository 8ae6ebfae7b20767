"""The subject-name rule: what it accepts, normalises and refuses, in the Python API and for stored names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.retrieval import Gallery
from gaitforge.retrieval.catalog import DB_NAME, Catalog
from gaitforge.retrieval.names import (
    SubjectNameError,
    check_subject_name,
    confusable_skeleton,
    display_name,
    name_problem,
)

DIM = 8


@pytest.mark.parametrize(
    "name", ["alice", "A-01", "nm_01.b", "José", "李雷", "two words", "_x", "7", "Ольга", "Δήμος"]
)
def test_good_names_pass_unchanged(name: str) -> None:
    assert check_subject_name(name) == name and name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a\nb", "control character U+000A"),
        ("a\x1b[2Jb", "control character U+001B"),
        ("a\u200bb", "ZERO WIDTH SPACE"),
        ("../../etc/passwd", "starts with '.'"),
        ("x/../y", "SOLIDUS"),
        ("a\\b", "REVERSE SOLIDUS"),
        ("a..b", "contains '..'"),
        (" x", "starts with ' '"),
        ("x ", "ends with a space"),
        ("x" * 65, "has 65 characters; the limit is 64"),
        ("", "is empty"),
        ("аlice", "mixes CYRILLIC and LATIN letters"),  # Cyrillic а, Latin lice
        ("pαypal", "mixes GREEK and LATIN letters"),
    ],
)
def test_bad_names_are_refused_naming_the_problem(name: str, problem: str) -> None:
    with pytest.raises(SubjectNameError, match="--subject: subject name") as info:
        check_subject_name(name, "--subject")
    assert problem in str(info.value) and info.value.code == "invalid_subject"
    assert "\n" not in str(info.value)  # one line, the name escaped


def test_full_width_letters_are_normalised() -> None:
    assert check_subject_name("ａｌｉｃｅ") == "alice" and check_subject_name("Ａ－０１") == "A-01"
    assert confusable_skeleton("асе") == confusable_skeleton("ACE")  # Cyrillic а с е reads as Latin ace


def test_display_escapes_what_the_rule_refuses() -> None:
    assert display_name("alice") == "alice"
    assert display_name("a\nb") == "'a\\nb'" and "\n" not in display_name("a\nb")


def test_gallery_applies_the_rule_and_refuses_look_alikes(tmp_path: Path) -> None:
    x = np.ones((1, DIM), np.float32)
    with Gallery.create(tmp_path / "g", DIM) as g:
        assert g.enroll("ａｌｉｃｅ", x) and {s.subject for s in g.subjects()} == {"alice"}
        with pytest.raises(SubjectNameError, match=r"U\+000A"):
            g.enroll("a\nb", x)
        with pytest.raises(SubjectNameError, match="starts with '.'"):
            g.enroll_many(["bob", "../../etc/passwd"], np.ones((2, DIM), np.float32))
        g.enroll("ace", x)
        with pytest.raises(SubjectNameError, match="'асе' reads like the enrolled 'ace'"):
            g.enroll("асе", x)  # all Cyrillic
        with pytest.raises(SubjectNameError, match="reads like the enrolled 'alice'"):
            g.enroll("Alice", x)
        assert g.enroll("ace", x)  # the same person again is fine
        assert [s.subject for s in g.subjects()] == ["ace", "alice"] and len(g) == 3
        assert len(g.sequences("ａｌｉｃｅ")) == 1 and g.remove("ａｌｉｃｅ") == 1  # looked up by the NFKC form


def test_names_stored_before_the_rule_stay_listed_and_removable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from gaitforge.cli import main

    Gallery.create(tmp_path / "g", DIM).close()
    catalog = Catalog(tmp_path / "g" / DB_NAME)  # as an older gaitforge wrote them, without the rule
    with catalog.write() as gen:
        catalog.insert(gen, ["a\nb", "../../etc/passwd", "ok"], np.ones((3, DIM), np.float32), ["{}"] * 3)
    catalog.close()
    assert main(["gallery", "list", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    rows = out.splitlines()
    assert len(rows) == 5  # header, three subjects, total: the newline does not fake a row
    assert "'a\\nb'" in out and "'../../etc/passwd'" in out
    assert "row 2, subject 'a\\nb' breaks the name rule" in caplog.text
    assert main(["gallery", "remove", str(tmp_path / "g"), "../../etc/passwd"]) == 0  # exact stored name
    with Gallery.open(tmp_path / "g") as g:
        assert sorted(s.subject for s in g.subjects()) == ["a\nb", "ok"]
        assert g.remove("a\nb") == 1


def test_look_alikes_are_seen_across_handles_and_after_removal(tmp_path: Path) -> None:
    x = np.ones((1, DIM), np.float32)
    Gallery.create(tmp_path / "g", DIM).close()
    with Gallery.open(tmp_path / "g") as first, Gallery.open(tmp_path / "g") as second:
        second.enroll("bob", x)  # the second handle knows the names as of now
        first.enroll("ace", x)  # written through another handle (as another process would)
        with pytest.raises(SubjectNameError, match="reads like the enrolled 'ace'"):
            second.enroll("асе", x)
        first.remove("ace")
        assert second.enroll("асе", x)  # no longer a look-alike of anyone enrolled
        with pytest.raises(SubjectNameError, match="reads like the enrolled 'асе'"):
            first.enroll_many(["carol", "ACE"], np.ones((2, DIM), np.float32))
        assert sorted(s.subject for s in second.subjects()) == ["bob", "асе"]


def test_the_ascii_fast_path_agrees_with_the_character_rule() -> None:
    import itertools

    from gaitforge.retrieval.names import _character_problem

    alphabet = "aZ09_.- /\\\n\x00:"
    for n in range(1, 4):
        for chars in itertools.product(alphabet, repeat=n):
            name = "".join(chars)
            assert (name_problem(name) is None) == (_character_problem(name) is None), repr(name)
