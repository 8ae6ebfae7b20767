"""FoundationGait (``FoundationGait_Scaling_Finetune``, 0.03B: 70.6 M parameters) against the OpenGait reference
outputs (checks in zoo_parity.py; the 31 per-part slices ``embeddings_00`` … are compared too). The two output
cases run the full 36- and 26-frame inputs through the 70 M-parameter network (about 10-20 s each on 2 shared
CPU cores), so they are marked slow; the layout check is quick. Training-mode details are checked on a small
configuration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model

from .zoo_parity import check

_CASES = [
    pytest.param("FoundationGait", what, marks=[pytest.mark.slow] if what != "layout" else [])
    for what in ("layout", "fixed", "var")
]


@pytest.mark.parametrize(("name", "what"), _CASES)
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def _small(**kwargs):
    torch.manual_seed(0)
    args = dict(layers=(1, 1, 1, 1), channels=(4, 8, 8, 16), bins=(4, 2, 1), embed_dim=8, num_classes=5)
    return create_model("foundationgait", **{**args, **kwargs})


def test_diverse_crops_keep_the_feature_layout() -> None:
    """In training each chunk is encoded in bands; with one band per chunk it is the plain encoding."""
    model = _small(crop_list=(2, 4), frozen=()).train()
    x = (torch.rand(4, 3, 32, 22) > 0.5).float()
    out = model(Batch(inputs={"sil": x}, labels=torch.arange(4)))
    assert out.embeddings.shape == (4, 8, 7) and out.logits.shape == (4, 5, 7)
    out.logits.pow(2).mean().backward()
    plain = _small(crop_list=(1, 1), frozen=())
    plain.load_state_dict(model.state_dict())
    plain.train()
    for m in plain.modules():  # batch statistics would differ between chunks: compare with running statistics
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    a = plain._frames(x[:, None])
    b = plain.teacher_backbone.encode(x[:, None])
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="crop_list: a chunk of 1 sequences"):
        _small(crop_list=(2, 2, 2)).train()(Batch(inputs={"sil": x[:3]}, labels=torch.arange(3)))


def test_zero_rate_stages_and_the_predictor_are_frozen() -> None:
    model = _small()  # frozen: layer0..layer2 (the peer's 0.03B backbone_lr [0, 0, 0, 0.001, 0.005])
    frozen = {n.split(".")[1] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"layer0", "layer1", "layer2", "predictor"}
