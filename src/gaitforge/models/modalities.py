"""The input modalities a model class declares, read without building the model.

Most models take their modality as a constructor argument (``modality="pose"``, GaitHeat's optional
``keypoint_modality``) and set ``input_modalities`` on the instance; a few fix it on the class. Listing models
(``gaitforge models``) must not build every network, so the declaration is read from the class: its own
``input_modalities`` attribute when it sets one, else the defaults of those constructor arguments.
"""

from __future__ import annotations

import inspect

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
    return tuple(GaitModel.input_modalities)
