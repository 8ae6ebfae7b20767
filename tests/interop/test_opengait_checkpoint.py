"""Safe checkpoint reading: the peer's layout, plain and DDP-prefixed state dicts, refused objects, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.interop.opengait import build_model, run_opengait_style
from gaitforge.interop.opengait_checkpoint import load_checkpoint
from gaitforge.models.gaitbase import GaitBase
from tests.interop.test_opengait import SMALL_CFG


def _small_model() -> GaitBase:
    return fill_with_recipe(build_model(SMALL_CFG), salt="ckpt").eval()


def test_load_checkpoint_round_trip_peer_layout(tmp_path: Path) -> None:
    model = _small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[20, 40])
    path = tmp_path / "Baseline-00100.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "iteration": 100,
        },
        path,
    )
    state = load_checkpoint(path)
    assert list(state) == list(model.state_dict())
    fresh = build_model(SMALL_CFG)
    fresh.load_state_dict(state, strict=True)
    fresh.eval()
    x = torch.rand(2, 4, 64, 44)
    torch.testing.assert_close(
        run_opengait_style(fresh, [x], None)["inference_feat/embeddings"],
        run_opengait_style(model, [x], None)["inference_feat/embeddings"],
        rtol=0,
        atol=0,
    )


def test_load_checkpoint_plain_and_ddp_prefixed(tmp_path: Path) -> None:
    sd = _small_model().state_dict()
    torch.save(sd, tmp_path / "plain.pt")
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "ddp.pt")
    for name in ("plain.pt", "ddp.pt"):
        state = load_checkpoint(tmp_path / name)
        assert list(state) == list(sd) and all(torch.equal(state[k], sd[k]) for k in sd)


_UNPICKLED: list[str] = []


class Payload:
    """A custom object: restoring it would run its __setstate__ (arbitrary code on load)."""

    def __setstate__(self, state) -> None:
        _UNPICKLED.append("ran")


def test_refuses_custom_objects_without_running_them(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": _small_model().state_dict(), "extra": Payload()}, path)
    with pytest.raises(ValueError, match=r"evil\.pt: refused to load.*weights_only"):
        load_checkpoint(path)
    assert _UNPICKLED == []


@pytest.mark.parametrize(
    "obj,pattern",
    [
        ([1, 2, 3], r"top level is not \(found list\)"),
        ({"model": {"a": 1}}, r"field 'model' is not"),
        ({"epoch": 3}, r"top level is not \(found dict with keys \['epoch'\]\)"),
        ({}, "top level is not"),
    ],
)
def test_rejects_other_contents(tmp_path: Path, obj, pattern) -> None:
    path = tmp_path / "x.pt"
    torch.save(obj, path)
    with pytest.raises(ValueError, match=pattern):
        load_checkpoint(path)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"bad\.pt"):
        load_checkpoint(bad)
