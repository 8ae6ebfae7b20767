"""The one YAML reader for configs from strangers: bounded, strict and with one-line errors.

``yaml.safe_load`` never runs code, but it still accepts three things a config must not have:

* **alias bombs** ("billion laughs"): a few hundred bytes of nested anchors and aliases describe 10^9 nodes.
  Loading is cheap (aliases share one object) but anything that walks the result (saving the resolved config,
  listing its keys) expands it until memory runs out. The node graph is measured *expanded* before anything is
  built, and refused past :data:`MAX_NODES`; a self-referencing alias is refused too;
* **huge files**: refused past :data:`MAX_BYTES` before they are read;
* **duplicate keys**: PyYAML keeps the last silently; here they are an error naming both lines.

Tags outside YAML's safe set (``!!python/object``...) are refused by the safe constructor; every parse
problem becomes a :class:`YamlError` (a ``ValueError``) with one line ``FILE:LINE: problem``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_BYTES", "MAX_NODES", "YamlError", "load_yaml_file", "load_yaml_text"]

#: Largest YAML file read, in bytes (a real config is a few kB).
MAX_BYTES = 1_000_000
#: Most nodes (scalars, lists, mappings) a document may hold once its aliases are expanded.
MAX_NODES = 100_000

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(ValueError):
    """A YAML text that is refused: the message is one line naming the source and, when known, the line."""


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _StrictLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader whose mappings refuse duplicate keys (merge keys ``<<`` may still be overridden)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable key: the base constructor reports it
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (lines {first} and {_line(key_node)})", key_node.start_mark
                    )
                seen[key] = _line(key_node)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes of the document with every alias expanded; stops counting past ``limit``.

    Raises:
        ValueError: an alias that refers to a node containing itself.
    """
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in active:
            raise ValueError(f"line {_line(node)}: an alias refers to a node that contains it (recursive YAML)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        active.discard(key)
        memo[key] = min(total, limit + 1)
        return memo[key]

    return size(root)


def load_yaml_text(text: str, source: str = "<string>", max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document strictly (see the module docstring).

    Args:
        text: The YAML text.
        source: Name used in errors (a file path).
        max_nodes: Bound on the document's node count with aliases expanded.

    Returns:
        The document (``None`` when empty).

    Raises:
        YamlError: bad syntax, an unsafe tag, a duplicate key, or an alias expansion past ``max_nodes``.
    """
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            count = _expanded_size(node, max_nodes)
        except ValueError as exc:
            raise YamlError(f"{source}: {exc}") from None
        if count > max_nodes:
            raise YamlError(
                f"{source}: more than {max_nodes} YAML nodes once aliases are expanded (an alias bomb?); "
                f"a config needs far fewer"
            )
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if exc.problem and exc.context:
            problem = f"{' '.join(str(exc.context).split())}: {problem}"
        raise YamlError(f"{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise YamlError(f"{source}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml_file(
    path: str | os.PathLike[str], max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES
) -> Any:
    """Read and parse a YAML file strictly, refusing files larger than ``max_bytes`` before reading them.

    Args:
        path: The file.
        max_bytes: Largest accepted size in bytes.
        max_nodes: Bound on the node count with aliases expanded.

    Raises:
        FileNotFoundError: no such file.
        YamlError: too large, not UTF-8, or refused by :func:`load_yaml_text`.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: YAML file not found")
    size = p.stat().st_size
    if size > max_bytes:
        raise YamlError(f"{p}: {size} bytes, more than the {max_bytes} accepted for a YAML config")
    with p.open("rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:  # grew while being read
        raise YamlError(f"{p}: more than the {max_bytes} bytes accepted for a YAML config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return load_yaml_text(text, str(p), max_nodes)
