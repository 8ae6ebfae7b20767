"""``gaitforge serve``: the HTTP API and web page over a model and a gallery (uvicorn).

Only argument parsing; the app is built by :func:`gaitforge.service.create_app`. FastAPI, uvicorn and torch are
imported inside the handler.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

__all__ = ["check_port_free", "proxy_options", "register"]

logger = logging.getLogger(__name__)


def _limits(args: argparse.Namespace) -> dict[str, int]:
    if args.max_upload_mb <= 0:
        raise ValueError(f"--max-upload-mb is {args.max_upload_mb}; expected > 0")
    limits = {
        "max_upload_bytes": int(args.max_upload_mb * 2**20),
        "max_frames": args.max_frames,
        "inference_threads": args.threads,
        "max_token_failures": args.max_token_failures,
    }
    for key in ("max_frame_side", "min_frames"):
        if getattr(args, key, None) is not None:
            limits[key] = getattr(args, key)
    return limits


def proxy_options(forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's proxy settings: ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are trusted only from the proxies
    listed (comma-separated addresses or networks); none by default.

    uvicorn itself trusts them from loopback (and reads ``FORWARDED_ALLOW_IPS``): then any local client, or any
    client of a local proxy that passes the header through, picks the address the failed-token lockout counts,
    and escapes it. Here the header is ignored unless ``--forwarded-allow-ips`` names the proxy.
    """
    allowed = ",".join(part.strip() for part in (forwarded_allow_ips or "").split(",") if part.strip())
    if not allowed:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": allowed}


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, before anything (a gallery folder) is created.

    Raises:
        ValueError: the address cannot be bound (names it and the reason).
    """
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # the socket uvicorn binds
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ValueError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); nothing was created; choose "
                "another --port or stop the process using it"
            ) from None


def _tls(args: argparse.Namespace) -> dict[str, str]:
    """uvicorn's TLS arguments: both files or neither, each one there."""
    given = {"--ssl-certfile": args.ssl_certfile, "--ssl-keyfile": args.ssl_keyfile}
    if not any(given.values()):
        return {}
    for flag, path in given.items():
        if not path:
            raise ValueError(f"{flag} is missing; HTTPS needs both --ssl-certfile and --ssl-keyfile")
    for flag, path in given.items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"{flag} {path}: no such file")
    return {"ssl_certfile": str(args.ssl_certfile), "ssl_keyfile": str(args.ssl_keyfile)}


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gaitforge.service.auth import Tokens
    from gaitforge.service.limits import ServiceLimits

    if not Path(args.model).exists():
        raise FileNotFoundError(f"--model {args.model}: no such run folder or checkpoint")
    if args.workers < 1:
        raise ValueError(f"--workers is {args.workers}; expected >= 1")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port is {args.port}; expected 0 to 65535")
    limits = _limits(args)
    ServiceLimits(**limits)  # check the values before starting anything
    tls = _tls(args)
    proxy = proxy_options(args.forwarded_allow_ips)
    # a missing or malformed token file fails here, naming the line
    tokens = Tokens.from_file(args.token_file) if args.token_file is not None else None
    if tokens is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "listening on %s without --token-file: anyone who can connect can enroll, identify and delete", args.host
        )
    log_level = "warning" if args.quiet else ("debug" if args.verbose else "info")
    check_port_free(args.host, args.port)  # a busy port fails before the gallery folder is made
    if args.workers == 1:
        from gaitforge.service.app import create_app

        app = create_app(args.model, args.gallery, limits=ServiceLimits(**limits), device=args.device, tokens=tokens)
        uvicorn.run(app, host=args.host, port=args.port, log_level=log_level, **proxy, **tls)
        return 0
    # several worker processes: each builds the app from the environment (the gallery is shared through its lock)
    os.environ["GAITFORGE_SERVICE_CONFIG"] = json.dumps(
        {
            "model": str(Path(args.model).resolve()),
            "gallery": str(Path(args.gallery).resolve()),
            "device": args.device,
            "limits": limits,
            "token_file": None if args.token_file is None else str(Path(args.token_file).resolve()),
        }
    )
    uvicorn.run(
        "gaitforge.service.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=log_level,
        **proxy,
        **tls,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``gaitforge`` subcommands."""
    p = sub.add_parser(
        "serve",
        help="HTTP API and web page: enroll and identify walkers over a model and a gallery",
        description="Serve /api/v1 (enroll, identify, subjects, info, health) and a web page at / with uvicorn.",
    )
    p.add_argument("--model", required=True, help="run folder or checkpoint file (a silhouette model)")
    p.add_argument("--gallery", required=True, help="gallery folder (created for the model when missing)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-upload-mb", type=float, default=64.0, help="largest request body in MiB (default 64)")
    p.add_argument("--max-frames", type=int, default=2000, help="frames per uploaded sequence or video (default 2000)")
    p.add_argument("--max-frame-side", type=int, help="pixels per frame side, checked before decoding (default 1024)")
    p.add_argument("--min-frames", type=int, help="frames that must hold a silhouette (default 5)")
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--threads", type=int, default=2, help="inference threads per process (default 2)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    p.add_argument(
        "--token-file",
        help="require 'Authorization: Bearer TOKEN' on the API: one 'TOKEN [read|write]' per line (docs/service.md)",
    )
    p.add_argument(
        "--max-token-failures",
        type=int,
        default=20,
        help="bad tokens per client address per minute before it gets 429 (default 20; with --token-file)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        help="trust X-Forwarded-For/-Proto only from these proxy addresses (comma-separated); default: from none, "
        "so the failed-token lockout counts the connecting address",
    )
    p.add_argument("--ssl-certfile", help="serve HTTPS with this PEM certificate (chain); needs --ssl-keyfile")
    p.add_argument("--ssl-keyfile", help="the certificate's PEM private key")
    p.set_defaults(func=_cmd_serve)
