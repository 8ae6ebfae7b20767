"""The input modalities a model class declares, read without building the model.

Most models take their modality as a constructor argument (``modality="pose"``, GaitHeat's optional
``keypoint_modality``) and set ``input_modalities`` on the instance; a few fix it on the class. Listing models
(``gaitforge models``) must not build every network, so the declaration is read from the class: its own
``input_modalities`` attribute when it sets one, else the defaults of those constructor arguments, else a
constant tuple its constructor assigns (``self.input_modalities = ("rgb", "sil", "ratio")``).
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from gaitforge.models.base import GaitModel

__all__ = ["declared_input_modalities"]


def declared_input_modalities(cls: type) -> tuple[str, ...]:
    """Modality names ``cls`` reads from ``Batch.inputs`` when built with default arguments.

    Args:
        cls: A model class (a :class:`GaitModel` subclass).

    Returns:
        The modality names, in the order the model reads them.
    """
    for klass in cls.__mro__:
        if klass is GaitModel:
            break
        if "input_modalities" in vars(klass):
            return tuple(vars(klass)["input_modalities"])
        params = inspect.signature(klass.__init__).parameters if "__init__" in vars(klass) else {}
        if "modality" in params and isinstance(params["modality"].default, str):
            names = [params["modality"].default]
            extra = params.get("keypoint_modality")
            if extra is not None and isinstance(extra.default, str):
                names.append(extra.default)
            return tuple(names)
        if "__init__" in vars(klass):
            fixed = _constant_assignment(klass.__init__)
            if fixed is not None:
                return fixed
    return tuple(GaitModel.input_modalities)


def _constant_assignment(init: object) -> tuple[str, ...] | None:
    """The string tuple ``init`` assigns to ``self.input_modalities`` as a literal, if it does."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))  # type: ignore[arg-type]
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Tuple):
            continue
        if not any(isinstance(t, ast.Attribute) and t.attr == "input_modalities" for t in node.targets):
            continue
        values = node.value.elts
        if values and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
            return tuple(v.value for v in values)  # type: ignore[attr-defined]
    return None
