"""The strict YAML reader: alias bombs, size bound, duplicate keys, tags and syntax give one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaitforge.utils.safe_yaml import YamlError, load_yaml_file, load_yaml_text

LOL = '"lol"'


def billion_laughs(prefix: str = "") -> str:
    """The classic bomb: 9 levels of 9 aliases each, 9^9 (387 million) leaves once expanded."""
    lines = [f"{prefix}a: &a [{', '.join([LOL] * 9)}]"]
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{prefix}{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_it_is_built(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    assert path.stat().st_size < 500
    with pytest.raises(YamlError, match="aliases are expanded") as info:
        load_yaml_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_aliases_within_the_bound_still_work() -> None:
    doc = load_yaml_text("base: &b {lr: 0.1, gamma: 0.5}\nother:\n  <<: *b\n  lr: 0.2\nlist: [*b, *b]\n")
    assert doc["other"] == {"lr": 0.2, "gamma": 0.5} and doc["list"] == [doc["base"]] * 2
    assert load_yaml_text("x: [1, [2, 3]]\n", max_nodes=7) == {"x": [1, [2, 3]]}
    with pytest.raises(YamlError, match="more than 6"):
        load_yaml_text("x: [1, [2, 3]]\n", max_nodes=6)


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlError, match="recursive"):
        load_yaml_text("a: &x [1, *x]\n", "r.yaml")


def test_file_size_is_bounded_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n")
    with pytest.raises(YamlError, match=r"big\.yaml: 2004 bytes, more than the 1000"):
        load_yaml_file(path, max_bytes=1000)
    assert load_yaml_file(path, max_bytes=3000)["a"] == "x" * 2000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", r"c\.yaml:3: duplicate key 'a' \(lines 1 and 3\)"),
        ("s:\n  k: 1\n  j: 2\n  k: 1\n", r"c\.yaml:4: duplicate key 'k' \(lines 2 and 4\)"),
        ("{a: 1, a: 2}\n", r"c\.yaml:1: duplicate key 'a'"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", r"c\.yaml:1: .*python/object/apply:os\.system"),
        ("a: 1\nb: [1, 2\nc: 3\n", r"c\.yaml:3: "),
        ("a: 1\n  b: 2\n", r"c\.yaml:2: mapping values are not allowed"),
    ],
)
def test_errors_are_one_line_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(YamlError, match=message) as info:
        load_yaml_text(text, "c.yaml")
    assert "\n" not in str(info.value)


def test_not_utf8_and_missing(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(YamlError, match="not UTF-8"):
        load_yaml_file(tmp_path / "bin.yaml")
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_yaml_file(tmp_path / "nope.yaml")
