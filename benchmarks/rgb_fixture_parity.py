"""Per-output parity figures of the RGB models against the OpenGait fixtures (docs/rgb_models.md).

For GaitEdge, DenoisingGait and BigGait__Dinov2_Gaitbase: the model from ``build_model`` with the recipe weights,
each case of the fixture run as ``run_opengait_style`` runs it (GaitEdge's BCE pair from its outputs), and
``[max |ours − peer|, max |peer|]`` per stored float output, plus the seconds of each forward (1 thread). The pass
criterion itself is asserted by ``tests/interop/test_zoo_fixtures_rgb.py``.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/rgb_fixture_parity.py [--out benchmarks/results/rgb_fixture_parity.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gaitforge.data.batch import Batch  # noqa: E402
from gaitforge.interop.opengait import run_opengait_style  # noqa: E402
from tests.interop.test_zoo_fixtures_rgb import _inputs, _load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", default=str(ROOT.parent / "shared" / "fixtures" / "opengait" / "models"))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, dict] = {}
    for name in ("GaitEdge", "DenoisingGait", "BigGait__Dinov2_Gaitbase"):
        meta, arrays, model = _load(args.fixtures, name)
        entry: dict[str, object] = {"params": sum(p.numel() for p in model.parameters())}
        for case in ("fixed", "var"):
            spec, ipts, seq_l, labs = _inputs(meta, arrays, case)
            started = time.perf_counter()
            with torch.no_grad():
                got = run_opengait_style(model, ipts, seq_l, labs)
                if name == "GaitEdge":
                    out = model(Batch(inputs=model.from_opengait_inputs(ipts), labels=labs))
                    h, w = out.extras["seg_probs"].shape[-2:]
                    got["training_feat/bce/logits"] = out.extras["seg_probs"].reshape(-1, 1, h, w)
            entry[f"{case}:seconds"] = round(time.perf_counter() - started, 1)
            for o in spec["outputs"]:
                path = "/".join(o["path"])
                if o["dtype"] == "int64" or path not in got:
                    continue
                expected = arrays[o["npz_key"]]
                entry[f"{case}:{path}"] = [
                    float(np.abs(got[path].numpy() - expected).max()),
                    float(np.abs(expected).max()),
                ]
        results[name] = entry
        print(name, json.dumps(entry), file=sys.stderr, flush=True)
    report = {"benchmark": "rgb_fixture_parity", "load_average_at_end": os.getloadavg(), "results": results}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
