"""HTTP service: a JSON API (``/api/v1``) and a web page over :mod:`gaitforge.retrieval`.

Five-line use::

    import uvicorn
    from gaitforge.service import ServiceLimits, create_app

    uvicorn.run(create_app("runs/gaitbase", "gallery/", limits=ServiceLimits()), port=8000)

or ``gaitforge serve --model runs/gaitbase --gallery gallery/``; see ``docs/service.md``. FastAPI is imported on
first use of :func:`create_app`, so the ``gaitforge`` command line stays quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gaitforge.service.auth import TokenFileError, Tokens
from gaitforge.service.limits import ServiceError, ServiceLimits, check_subject

if TYPE_CHECKING:
    from gaitforge.service.app import create_app

__all__ = ["ServiceError", "ServiceLimits", "TokenFileError", "Tokens", "check_subject", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from gaitforge.service.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
