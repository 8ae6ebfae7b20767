"""gaitforge: gait recognition from video — preprocessing, training, evaluation under the field's protocols, deployment.

The front door. Each name is imported on first use (PEP 562), so ``import gaitforge`` stays cheap and pulls in
neither torch nor any optional dependency::

    import gaitforge as gf

    cfg = gf.load_config("gaitbase_synth_cpu", ["train.iterations=300"])
    run = gf.train(cfg, "runs/gaitbase")
    print(gf.evaluate(run.run_dir))
    model = gf.create_model("gaitbase")

Subpackages, lowest layer first: ``utils``, ``store`` (in ``data``), ``synth``, ``io``, ``preprocess``, ``data``,
``models``, ``losses``, ``engine``, ``evaluation``, ``retrieval``, ``interop``, ``export``, ``service``, ``cli``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name → (module, attribute). One table, read by ``__getattr__`` and ``__dir__``.
_EXPORTS: dict[str, tuple[str, str]] = {
    "load_config": ("gaitforge.config", "load_config"),
    "train": ("gaitforge.engine.trainer", "train"),
    "evaluate": ("gaitforge.engine.evaluate", "evaluate_checkpoint"),
    "create_model": ("gaitforge.models", "create_model"),
    "list_models": ("gaitforge.models", "list_models"),
    "make_world": ("gaitforge.synth.build", "make_world"),
    "get_preset": ("gaitforge.synth.presets", "get_preset"),
    "SequenceStore": ("gaitforge.data.store", "SequenceStore"),
    "score_embeddings": ("gaitforge.evaluation.score", "score_embeddings"),
    "Recognizer": ("gaitforge.retrieval.recognizer", "Recognizer"),
    "Gallery": ("gaitforge.retrieval.gallery", "Gallery"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:  # no typing import: it alone costs more than the rest
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'gaitforge' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
