"""``convert opengait-checkpoint``: for every model family with a peer fixture, an OpenGait-layout checkpoint
(``{"model", "optimizer", "scheduler", "iteration"}``) written from the fixture's recipe weights converts into a run
folder whose embeddings, through the Recognizer (what ``enroll`` / ``identify`` / ``serve`` use) and through the
ONNX export, are the fixture's (``1e-4 · max(1, max|expected|)``, the fixture README's criterion).

Inputs go in as a user's would: silhouettes and skeleton maps as uint8 64×64 frames (the fixture's 64×44 inputs
with the 10 px side bands the peer's ``BaseSilCuttingTransform`` cuts put back), poses as raw COCO-17 keypoints,
so the recorded test-time transform is exercised too. Two sequences of the fixture's fixed case are used.

Families added later, whose inputs the Recognizer does not read (RGB, depth, parsing, SMPL, diffusion features)
or whose export is covered by tests/export, are checked through the converted run's model as ``gaitforge eval``
loads it (``load_trained_model``), fed the fixture's model inputs (already transformed) the peer's way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from gaitforge.data.sequence import Sequence
from gaitforge.interop.fixture_weights import recipe_state_dict
from gaitforge.interop.peer_checkpoint import convert_peer_checkpoint

N = 2  # sequences of the fixed case used
#: fixture → modalities in the gaitforge run (the fixture's ``ipts[0]`` is split / padded into these).
FAMILIES = {
    "GaitSet": "sil",
    "GaitPart": "sil",
    "GaitGL": "sil",
    "GaitBase": "sil",
    "GLN_phase1": "sil",
    "DeepGaitV2_p3d": "sil",
    "SkeletonGait": "skeleton_map",
    "SkeletonGaitPP": "skeleton_map+sil",
    "GaitGraph1": "pose",
    "GaitGraph2": "pose",
    "GaitTR": "pose",
    "MSGG": "pose",
}
#: The largest models (11–17 M parameters): marked slow (about 2× the others each). DeepGaitV2 2d is left to the
#: zoo parity tests (test_zoo_fixtures_deepgaitv2.py): the converter treats every mode alike.
HEAVY = {"GLN": "sil", "DeepGaitV2_3d": "sil", "SwinGait": "sil"}


def _meta(fixtures_dir: Path, name: str) -> tuple[dict, dict]:
    meta = json.loads((fixtures_dir / "models" / f"{name}.json").read_text())
    with np.load(fixtures_dir / "models" / f"{name}.npz") as z:
        arrays = dict(z)
    return meta, arrays


def write_peer_files(meta: dict, folder: Path, iteration: int = 1000) -> tuple[Path, Path]:
    """The peer's checkpoint layout and a YAML with the fixture's ``model_cfg``, evaluator transform and dataset."""
    state = recipe_state_dict(meta)
    kept = meta.get("state_dict_entries_kept_as_constructed") or []
    if kept:  # the peer saves these buffers too (SwinGait's relative-position tables): take them as built
        from gaitforge.interop.opengait import build_model

        own = build_model(meta["model_cfg"]).state_dict()
        state = {k: (own[k] if k in kept else state[k]) for k, _, _ in meta["state_dict"]}
    ckpt = folder / "peer.pt"
    torch.save(
        {
            "model": state,
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1]}]},
            "scheduler": {"milestones": {"20000": 1}, "last_epoch": iteration, "gamma": 0.1},
            "iteration": iteration,
        },
        ckpt,
    )
    config = folder / "peer.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_cfg": {"dataset_name": meta["data_cfg_dataset_name"]},
                "evaluator_cfg": {"save_name": "fixture", "transform": meta["evaluator_transform"]},
                "model_cfg": meta["model_cfg"],
            }
        )
    )
    return ckpt, config


def _frames_64(x: np.ndarray) -> np.ndarray:
    """Peer input ``[..., 64, 44]`` in [0, 1] → the uint8 ``[..., 64, 64]`` frames it was cut from."""
    u8 = np.rint(x * 255.0).astype(np.uint8)
    return np.pad(u8, [(0, 0)] * (x.ndim - 1) + [(10, 10)])


def user_inputs(meta: dict, arrays: dict, kind: str) -> list[dict[str, np.ndarray]]:
    """Per sequence: the raw frames by modality a user would have."""
    case = meta["cases"]["fixed"]
    x = arrays[case["ipts"][0]["npz_key"]][:N]
    if kind == "pose":
        return [{"pose": s} for s in arrays[case["raw"][0]["npz_key"]][:N]]
    if kind == "sil":
        return [{"sil": _frames_64(s)} for s in x]
    if kind == "skeleton_map":
        return [{"skeleton_map": _frames_64(s)} for s in x]
    # SkeletonGait++: the peer stacks the two skeleton maps and the silhouette into one input
    return [{"skeleton_map": _frames_64(s[:, :2]), "sil": _frames_64(s[:, 2])} for s in x]


def onnx_inputs(run: Path, sequences: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stacked ONNX inputs ``[N, T, ...]``: each sequence through the run's recorded ``data.test_transforms``."""
    from gaitforge.config import load_config
    from gaitforge.data.transforms import build_transform

    cfg = load_config(run / "config.yaml")
    transform = build_transform(cfg.data.test_transforms)
    prepare = (lambda a: a) if transform is None else (lambda a: transform(a, np.random.default_rng(0)))
    return {m: np.stack([prepare(s[m]) for s in sequences]).astype(np.float32) for m in sequences[0]}


def _expected(meta: dict, arrays: dict) -> np.ndarray:
    out = next(o for o in meta["cases"]["fixed"]["outputs"] if o["path"] == ["inference_feat", "embeddings"])
    return arrays[out["npz_key"]][:N]


def _close(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.shape == expected.shape, f"{what}: shape {got.shape} vs {expected.shape}"
    err = float(np.abs(got - expected).max())
    allowed = 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert err <= allowed, f"{what}: max |a - e| = {err} > {allowed}"


def _round_trip(fixtures_dir: Path, tmp_path: Path, name: str, kind: str) -> None:
    from gaitforge.export import export_checkpoint
    from gaitforge.export.runtime import OnnxEmbedder
    from gaitforge.retrieval.recognizer import Recognizer

    torch.set_num_threads(1)
    meta, arrays = _meta(fixtures_dir, name)
    ckpt, config = write_peer_files(meta, tmp_path)
    outcome = convert_peer_checkpoint(ckpt, config, tmp_path / "run")
    assert outcome.tensors == len(meta["state_dict"]) and outcome.iteration == 1000
    written, converted = (
        torch.load(ckpt, weights_only=True)["model"],
        torch.load(outcome.checkpoint, weights_only=True)["model"],
    )
    assert list(converted) == [k for k, _, _ in meta["state_dict"]]  # every tensor, as the file holds it
    assert all(torch.equal(converted[k], v) for k, v in written.items())
    record = json.loads((tmp_path / "run" / "conversion.json").read_text())
    assert record["input_transform"]["peer"] == meta["evaluator_transform"]
    expected = _expected(meta, arrays)
    sequences = user_inputs(meta, arrays, kind)

    recognizer = Recognizer.from_checkpoint(tmp_path / "run")
    seqs = [Sequence("p", "nm-01", "000", frames) for frames in sequences]
    _close(recognizer.embed_parts(seqs, pretreated=True), expected, f"{name} via the Recognizer")

    stacked = onnx_inputs(tmp_path / "run", sequences)
    onnx = tmp_path / "model.onnx"
    export_checkpoint(tmp_path / "run", onnx, frames=next(iter(stacked.values())).shape[1], check=False)
    _close(OnnxEmbedder(onnx, threads=1)(stacked), expected, f"{name} via ONNX")


#: Later families: the converted run's model against the fixture (``eval``'s path); the largest are slow.
RUN_MODEL = ["ScoNet", "GaitEdge", "LidarGait"]
RUN_MODEL_HEAVY = ["MultiGaitpp", "DenoisingGait", "SMPLGait", "ParsingGait"]


def _run_model_check(fixtures_dir: Path, tmp_path: Path, name: str) -> None:
    from gaitforge.engine.evaluate import load_trained_model
    from gaitforge.interop.opengait import run_opengait_style

    torch.set_num_threads(1)
    meta, arrays = _meta(fixtures_dir, name)
    ckpt, config = write_peer_files(meta, tmp_path)
    convert_peer_checkpoint(ckpt, config, tmp_path / "run")
    model, _, _ = load_trained_model(tmp_path / "run")
    case = meta["cases"]["fixed"]
    ipts = [torch.from_numpy(arrays[i["npz_key"]][:N]) for i in case["ipts"]]
    with torch.no_grad():
        typs = case.get("typs")
        out = run_opengait_style(model.eval(), ipts, None, torch.tensor(case["labs"][:N]), typs=typs and typs[:N])
    _close(out["inference_feat/embeddings"].numpy(), _expected(meta, arrays), f"{name} via the converted run")


@pytest.mark.parametrize("name", RUN_MODEL)
def test_converted_run_model_gives_the_fixture_embeddings(fixtures_dir: Path, tmp_path: Path, name: str) -> None:
    _run_model_check(fixtures_dir, tmp_path, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_MODEL_HEAVY)
def test_converted_run_model_gives_the_fixture_embeddings_large_models(
    fixtures_dir: Path, tmp_path: Path, name: str
) -> None:
    _run_model_check(fixtures_dir, tmp_path, name)


@pytest.mark.parametrize(("name", "kind"), FAMILIES.items(), ids=list(FAMILIES))
def test_converted_checkpoint_gives_the_fixture_embeddings(
    fixtures_dir: Path, tmp_path: Path, name: str, kind: str
) -> None:
    _round_trip(fixtures_dir, tmp_path, name, kind)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kind"), HEAVY.items(), ids=list(HEAVY))
def test_converted_checkpoint_gives_the_fixture_embeddings_large_models(
    fixtures_dir: Path, tmp_path: Path, name: str, kind: str
) -> None:
    _round_trip(fixtures_dir, tmp_path, name, kind)
