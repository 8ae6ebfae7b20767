"""`gaitforge convert opengait-config`: peer YAMLs (the key sets of OpenGait's shipped configs, snapshot 0efafd4)
convert end to end: every key is reported once, the config loads, its model has the peer's state-dict layout, and
the settings land where they should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gaitforge.cli import main
from gaitforge.config import config_from_dict, load_config
from gaitforge.engine.optim import build_optimizer, build_scheduler
from gaitforge.interop.opengait import build_model
from gaitforge.interop.opengait_config import PEER_DEFAULTS, _leaves, _merge, convert_opengait_config
from gaitforge.models import create_model

_EVAL = """
evaluator_cfg:
  enable_float16: true
  restore_ckpt_strict: true
  restore_hint: 60000
  save_name: {name}
  eval_func: {eval_func}
  sampler:
    batch_shuffle: false
    batch_size: 4
    sample_type: all_ordered
    frames_all_limit: 720
  metric: euc
  transform:
    - type: BaseSilCuttingTransform
"""
_LOSSES = """
loss_cfg:
  - loss_term_weight: 1.0
    margin: 0.2
    type: TripletLoss
    log_prefix: triplet
  - loss_term_weight: 1.0
    scale: 16
    type: CrossEntropyLoss
    log_prefix: softmax
    log_accuracy: true
"""
_DA_TRANSFORM = """
  transform:
    - type: Compose
      trf_cfg:
        - type: RandomPerspective
          prob: 0.2
        - type: BaseSilCuttingTransform
        - type: RandomHorizontalFlip
          prob: 0.2
        - type: RandomRotate
          prob: 0.2
"""


def _data(dataset: str, extra: str = "") -> str:
    return f"""
data_cfg:
  dataset_name: {dataset}
  dataset_root: your_path
  dataset_partition: ./datasets/{dataset}/{dataset}.json
  num_workers: 1
  remove_no_gallery: false
  test_dataset_name: {dataset}
{extra}"""


GAITBASE = (
    _data("CASIA-B")
    + _EVAL.format(name="GaitBase_DA", eval_func="evaluate_indoor_dataset")
    + _LOSSES
    + """
model_cfg:
  model: Baseline
  backbone_cfg:
    type: ResNet9
    block: BasicBlock
    channels: [64, 128, 256, 512]
    layers: [1, 1, 1, 1]
    strides: [1, 2, 2, 1]
    maxpool: false
  SeparateFCs: {in_channels: 512, out_channels: 256, parts_num: 16}
  SeparateBNNecks: {class_num: 74, in_channels: 256, parts_num: 16}
  bin_num: [16]
optimizer_cfg: {lr: 0.1, momentum: 0.9, solver: SGD, weight_decay: 0.0005}
scheduler_cfg: {gamma: 0.1, milestones: [20000, 40000, 50000], scheduler: MultiStepLR}
trainer_cfg:
  enable_float16: true
  fix_BN: false
  with_test: false
  log_iter: 100
  restore_ckpt_strict: true
  restore_hint: 0
  save_iter: 60000
  save_name: GaitBase_DA
  sync_BN: true
  total_iter: 60000
  sampler:
    batch_shuffle: true
    batch_size: [8, 16]
    frames_num_fixed: 30
    frames_num_max: 40
    frames_num_min: 20
    sample_type: fixed_unordered
    type: TripletSampler
  transform:
    - type: Compose
      trf_cfg:
        - type: BaseSilCuttingTransform
        - type: RandomRotate
          prob: 0.3
        - type: RandomErasing
          prob: 0.3
"""
)
GAITSET_GREW = (
    _data("GREW")
    + """
evaluator_cfg:
  enable_float16: true
  restore_ckpt_strict: true
  restore_hint: 250000
  save_name: GaitSet
  eval_func: identification_GREW_submission
  sampler: {batch_size: 4, sample_type: all_ordered, type: InferenceSampler}
  metric: euc
loss_cfg: {loss_term_weight: 1.0, margin: 0.2, type: TripletLoss, log_prefix: triplet}
model_cfg:
  model: GaitSet
  in_channels: [1, 64, 128, 256]
  SeparateFCs: {in_channels: 256, out_channels: 256, parts_num: 62}
  bin_num: [16, 8, 4, 2, 1]
optimizer_cfg: {lr: 0.0001, momentum: 0.9, solver: Adam, weight_decay: 0}
scheduler_cfg: {gamma: 0.1, milestones: [150000], scheduler: MultiStepLR}
trainer_cfg:
  enable_float16: true
  fix_BN: false
  with_test: false
  log_iter: 100
  restore_ckpt_strict: true
  restore_hint: 0
  save_iter: 10000
  save_name: GaitSet
  sync_BN: false
  total_iter: 250000
  sampler:
    batch_shuffle: false
    batch_size: [32, 4]
    frames_num_fixed: 30
    frames_num_max: 50
    frames_num_min: 25
    sample_type: fixed_unordered
    type: TripletSampler
"""
)
GAITGL = """
data_cfg:
  dataset_name: CASIA-B
  dataset_root: your_path
  dataset_partition: ./datasets/CASIA-B/CASIA-B_include_005.json
  num_workers: 1
  remove_no_gallery: false
  test_dataset_name: CASIA-B
evaluator_cfg:
  enable_float16: false
  restore_ckpt_strict: true
  restore_hint: 80000
  save_name: GaitGL
  sampler: {batch_size: 4, sample_type: all_ordered, type: InferenceSampler}
loss_cfg:
  - {loss_term_weight: 1.0, margin: 0.2, type: TripletLoss, log_prefix: triplet}
  - {loss_term_weight: 1.0, scale: 1, type: CrossEntropyLoss, log_accuracy: true, label_smooth: false,
     log_prefix: softmax}
model_cfg:
  model: GaitGL
  channels: [32, 64, 128]
  class_num: 74
optimizer_cfg: {lr: 1.0e-4, solver: Adam, weight_decay: 5.0e-4}
scheduler_cfg: {gamma: 0.1, milestones: [70000], scheduler: MultiStepLR}
trainer_cfg:
  enable_float16: true
  with_test: true
  log_iter: 100
  restore_ckpt_strict: true
  restore_hint: 0
  save_iter: 10000
  save_name: GaitGL
  sync_BN: true
  total_iter: 80000
  sampler:
    batch_shuffle: true
    batch_size: [8, 8]
    frames_num_fixed: 30
    frames_skip_num: 0
    sample_type: fixed_ordered
    type: TripletSampler
"""
DEEPGAITV2 = (
    _data("CASIA-B")
    + _EVAL.format(name="DeepGaitV2", eval_func="evaluate_indoor_dataset")
    + _LOSSES
    + """
model_cfg:
  model: DeepGaitV2
  Backbone:
    mode: p3d
    in_channels: 1
    layers: [1, 1, 1, 1]
    channels: [64, 128, 256, 512]
  SeparateBNNecks: {class_num: 74}
optimizer_cfg: {lr: 0.1, momentum: 0.9, solver: SGD, weight_decay: 0.0005}
scheduler_cfg: {gamma: 0.1, milestones: [20000, 40000, 50000], scheduler: MultiStepLR}
trainer_cfg:
  enable_float16: true
  fix_BN: false
  log_iter: 100
  with_test: false
  restore_ckpt_strict: true
  restore_hint: 0
  save_iter: 30000
  save_name: DeepGaitV2
  sync_BN: true
  total_iter: 60000
  sampler:
    batch_shuffle: true
    batch_size: [8, 16]
    frames_num_fixed: 30
    frames_skip_num: 4
    sample_type: fixed_ordered
    type: TripletSampler"""
    + _DA_TRANSFORM
)
SWINGAIT = (
    _data("CCPG", "  data_in_use: [true, false, false, false]")
    + _EVAL.format(name="SwinGait3D_B1122_C2", eval_func="evaluate_CCPG")
    + _LOSSES
    + """
model_cfg:
  model: SwinGait
  Backbone:
    mode: p3d
    in_channels: 1
    layers: [1, 1, 2, 2]
    channels: [64, 128]
  bin_num: [15]
  SeparateBNNecks: {in_channels: 256, class_num: 100, parts_num: 16}
optimizer_cfg: {lr: 0.0003, solver: AdamW, weight_decay: 0.02}
scheduler_cfg: {gamma: 0.1, milestones: [100000000], scheduler: MultiStepLR}
trainer_cfg:
  enable_float16: true
  fix_BN: false
  log_iter: 100
  with_test: false
  optimizer_reset: true
  restore_ckpt_strict: false
  restore_hint: ./output/CCPG/DeepGaitV2/DeepGaitV2_B1111_C2_P3D/checkpoints/DeepGaitV2_B1111_C2_P3D-60000.pt
  save_iter: 20000
  save_name: SwinGait3D_B1122_C2
  sync_BN: true
  T_max_iter: 60000
  total_iter: 80000
  sampler:
    batch_shuffle: true
    batch_size: [8, 16]
    frames_num_fixed: 30
    frames_skip_num: 4
    sample_type: fixed_ordered
    type: TripletSampler"""
    + _DA_TRANSFORM
)
SKELETONGAIT_PP = (
    _data("CCPG", "  data_in_use: [true, true]")
    + _EVAL.format(name="SkeletonGaitPP", eval_func="evaluate_CCPG")
    + """
loss_cfg:
  - {loss_term_weights: 1.0, margin: 0.2, type: TripletLoss, log_prefix: triplet}
  - {loss_term_weights: 1.0, scale: 16, type: CrossEntropyLoss, log_prefix: softmax, log_accuracy: true}
model_cfg:
  model: SkeletonGaitPP
  Backbone: {in_channels: 3, blocks: [1, 1, 1, 1], C: 2}
  SeparateBNNecks: {class_num: 100}
optimizer_cfg: {lr: 0.1, momentum: 0.9, solver: SGD, weight_decay: 0.0005}
scheduler_cfg: {gamma: 0.1, milestones: [20000, 30000, 40000], scheduler: MultiStepLR}
trainer_cfg:
  enable_float16: true
  fix_BN: false
  log_iter: 100
  restore_ckpt_strict: true
  restore_hint: 30000
  save_iter: 10000
  save_name: SkeletonGaitPP
  sync_BN: true
  total_iter: 60000
  sampler:
    batch_shuffle: true
    batch_size: [8, 16]
    frames_num_fixed: 30
    frames_skip_num: 4
    sample_type: fixed_ordered
    type: TripletSampler"""
    + _DA_TRANSFORM
)
PEERS = {
    "gaitbase": GAITBASE,
    "gaitset": GAITSET_GREW,
    "gaitgl": GAITGL,
    "deepgaitv2": DEEPGAITV2,
    "swingait": SWINGAIT,
    "skeletongait_pp": SKELETONGAIT_PP,
}


def _entries(result) -> dict[str, object]:
    return {e.path: e for e in result.entries}


@pytest.mark.parametrize("name", sorted(PEERS))
def test_converts_end_to_end(name: str) -> None:
    peer = yaml.safe_load(PEERS[name])
    result = convert_opengait_config(peer, source=f"{name}.yaml")
    # every key of the merged peer config is reported exactly once, with a known status
    merged = _merge(json.loads(json.dumps(PEER_DEFAULTS)), peer)
    paths = [e.path for e in result.entries]
    assert sorted(paths) == sorted(p for p, _ in _leaves(merged, "")) and len(paths) == len(set(paths))
    assert {e.status for e in result.entries} <= {"mapped", "ignored", "unsupported"}
    assert all(e.reason for e in result.entries if e.status != "mapped"), "every ignored/unsupported key says why"
    assert all(e.target for e in result.entries if e.status == "mapped")
    assert {e.source for e in result.entries if e.path in {p for p, _ in _leaves(peer, "")}} == {"file"}
    # the config validates and its model has the peer's layout
    cfg = config_from_dict(result.config)
    assert cfg.model.name == name
    kwargs = dict(cfg.model.args)
    if result.num_classes is not None:
        kwargs["num_classes"] = result.num_classes
    ours = create_model(cfg.model.name, **kwargs).state_dict()
    peer_model = build_model(peer["model_cfg"]).state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == [(k, tuple(v.shape)) for k, v in peer_model.items()]


def test_settings_land_where_they_should() -> None:
    base = convert_opengait_config(yaml.safe_load(GAITBASE))
    cfg = config_from_dict(base.config)
    assert (cfg.data.p, cfg.data.k, cfg.train.iterations, cfg.train.save_every) == (8, 16, 60000, 60000)
    assert cfg.data.train_frames.mode == "fixed_unordered" and cfg.data.train_frames.num == 30
    assert cfg.data.test_frames.max_all == 720 and cfg.eval.batch_size == 4 and cfg.eval.protocol == "casia-b"
    assert [t["name"] for t in cfg.data.transforms] == ["sil_cut", "random_rotate", "random_erasing"]
    assert cfg.data.transforms[1] == {"name": "random_rotate", "p": 0.3, "degree": 10, "center": "peer"}
    assert cfg.scheduler.milestones == [20000, 40000, 50000] and cfg.train.amp and base.num_classes == 74
    assert [(loss["name"], loss["input"]) for loss in cfg.losses] == [("triplet", "embeddings"), ("ce", "logits")]

    gaitset = convert_opengait_config(yaml.safe_load(GAITSET_GREW))
    cfg = config_from_dict(gaitset.config)
    assert [loss["name"] for loss in cfg.losses] == ["triplet"] and gaitset.num_classes is None
    assert cfg.optimizer.name == "adam" and cfg.optimizer.weight_decay == 0.0
    assert cfg.eval.protocol == "grew-submission" and cfg.data.dataset == "GREW"
    momentum = _entries(gaitset)["optimizer_cfg.momentum"]
    assert momentum.status == "ignored" and "Adam" in momentum.reason
    assert _entries(gaitset)["evaluator_cfg.transform[0].type"].source == "default"  # from the peer's defaults
    assert cfg.data.test_transforms == [{"name": "sil_cut"}]

    gaitgl = convert_opengait_config(yaml.safe_load(GAITGL))
    cfg = config_from_dict(gaitgl.config)
    ce = cfg.losses[1]
    assert ce["scale"] == 1.0 and ce["label_smoothing"] == 0.0 and cfg.optimizer.lr == pytest.approx(1e-4)
    assert _entries(gaitgl)["trainer_cfg.with_test"].target == "train.eval_every"  # the peer tests at every save
    assert cfg.train.eval_every == cfg.train.save_every == yaml.safe_load(GAITGL)["trainer_cfg"]["save_iter"]
    assert cfg.data.train_frames.skip == 0 and cfg.data.partition.endswith("CASIA-B_include_005.json")


def test_swingait_warm_start_groups_and_schedule() -> None:
    result = convert_opengait_config(yaml.safe_load(SWINGAIT))
    cfg = config_from_dict(result.config)
    assert cfg.train.init_from.endswith("DeepGaitV2_B1111_C2_P3D-60000.pt") and cfg.train.init_strict is False
    assert cfg.eval.protocol == "ccpg" and cfg.data.modalities == ["sil"]
    assert cfg.scheduler.name == "cosine" and cfg.scheduler.cosine_iterations == 60000
    assert cfg.scheduler.update_every == 1000 and cfg.scheduler.min_lr == pytest.approx(1e-6 / 3e-4)
    assert [t["name"] for t in cfg.data.transforms] == [
        "random_perspective",
        "sil_cut",
        "random_horizontal_flip",
        "random_rotate",
    ]
    # the built-in groups of the peer's SwinGait build on gaitforge's SwinGait and cover every parameter
    model = create_model(cfg.model.name, num_classes=5, **cfg.model.args)
    opt = build_optimizer(model, cfg.optimizer)
    assert [g["name"] for g in opt.param_groups] == [f"optimizer.param_groups[{i}]" for i in range(3)]
    no_decay, decay, slow = opt.param_groups
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == pytest.approx(0.02)
    assert slow["lr"] == pytest.approx(3e-5) and decay["lr"] == pytest.approx(3e-4)
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    ids = {id(p) for p in no_decay["params"]}
    assert id(model.transformer.patch_embed.proj.weight) in ids and id(model.transformer.norm.weight) in ids
    sched = build_scheduler(opt, cfg.scheduler, cfg.train.iterations)
    assert sched.get_last_lr()[1] == pytest.approx(3e-4)
    entries = _entries(result)
    assert entries["trainer_cfg.T_max_iter"].target == "scheduler.cosine_iterations"
    assert entries["scheduler_cfg.milestones"].status == "ignored"


def test_skeletongait_pp_and_peer_quirks() -> None:
    result = convert_opengait_config(yaml.safe_load(SKELETONGAIT_PP))
    cfg = config_from_dict(result.config)
    assert cfg.data.modalities == ["skeleton_map", "sil"] and cfg.model.name == "skeletongait_pp"
    entries = _entries(result)
    typo = entries["loss_cfg[0].loss_term_weights"]
    assert typo.status == "ignored" and "weight stays 1.0" in typo.reason
    assert (
        entries["trainer_cfg.restore_hint"].status == "ignored"
        and "--resume" in entries["trainer_cfg.restore_hint"].reason
    )
    assert cfg.train.init_from == ""


def test_unknown_keys_and_unsupported_settings_are_reported() -> None:
    peer = yaml.safe_load(DEEPGAITV2)
    peer["trainer_cfg"]["fancy_trick"] = True
    peer["trainer_cfg"]["fix_BN"] = True
    peer["extra_cfg"] = {"anything": 1}
    peer["data_cfg"]["test_dataset_name"] = "OUMVLP"
    peer["evaluator_cfg"]["transform"] = [{"type": "BaseSilCuttingTransform", "img_w": 64}]
    peer["trainer_cfg"]["transform"] = [
        {
            "type": "Compose",
            "trf_cfg": [
                {"type": "DA4GaitSSB", "cutting": 10},
                {"type": "NoOperation"},
                {"type": "RandomColorJitter", "prob": 0.5},
            ],
        }
    ]
    peer["optimizer_cfg"]["dampening"] = 0.5
    result = convert_opengait_config(peer, source="mixed.yaml")
    entries = _entries(result)
    unknown = entries["trainer_cfg.fancy_trick"]
    assert unknown.status == "unsupported" and "unknown key" in unknown.reason
    assert entries["extra_cfg.anything"].status == "unsupported"
    assert entries["trainer_cfg.fix_BN"].status == "unsupported"
    assert entries["data_cfg.test_dataset_name"].status == "unsupported"
    assert entries["optimizer_cfg.dampening"].status == "unsupported"
    assert entries["evaluator_cfg.transform[0].img_w"].status == "ignored"
    jitter = "trainer_cfg.transform[0].trf_cfg[2]"
    assert entries[f"{jitter}.type"].status == "unsupported" and entries[f"{jitter}.prob"].status == "unsupported"
    names = [t["name"] for t in result.config["data"]["transforms"]]
    assert names == [
        "random_affine",
        "random_perspective",
        "sil_cut",
        "random_horizontal_flip",
        "random_part_dilate",
        "random_part_blur",
    ]
    assert result.config["data"]["transforms"][2] == {"name": "sil_cut", "cut": 10}
    text = result.to_yaml()
    assert "# UNSUPPORTED trainer_cfg.fancy_trick" in text
    assert config_from_dict(yaml.safe_load(text)) is not None
    with pytest.raises(ValueError, match=r"model_cfg\.model: unsupported OpenGait model 'BigGait'"):
        convert_opengait_config({**peer, "model_cfg": {"model": "BigGait"}}, source="big.yaml")
    with pytest.raises(ValueError, match=r"mixed\.yaml: model_cfg\.Backbone\.depth: unknown key"):
        bad = yaml.safe_load(DEEPGAITV2)
        bad["model_cfg"]["Backbone"]["depth"] = 3
        convert_opengait_config(bad, source="mixed.yaml")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    peer = tmp_path / "gaitbase_da_casiab.yaml"
    peer.write_text(GAITBASE)
    out, report = tmp_path / "out" / "gaitbase.yaml", tmp_path / "report.json"
    out.parent.mkdir()
    assert main(["convert", "opengait-config", str(peer), "--out", str(out), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "(Baseline)" in printed and "0 unsupported" in printed
    cfg = load_config(out)
    assert cfg.name == "GaitBase_DA" and cfg.model.name == "gaitbase"
    data = json.loads(report.read_text())
    assert data["peer_model"] == "Baseline" and data["num_classes"] == 74
    assert data["counts"]["mapped"] > 40 and len(data["entries"]) == sum(data["counts"].values())

    odd = tmp_path / "odd.yaml"
    odd.write_text(GAITBASE + "  mystery: 3\n")  # under trainer_cfg
    strict_out = tmp_path / "strict.yaml"
    rc = main(["convert", "opengait-config", str(odd), "--out", str(strict_out), "--strict"])
    assert rc == 2 and not strict_out.exists()
    assert "trainer_cfg.mystery" in capsys.readouterr().err
    assert main(["convert", "opengait-config", str(odd), "--out", str(strict_out)]) == 0
    assert "unsupported trainer_cfg.mystery" in capsys.readouterr().out
    assert main(["convert", "opengait-config", str(tmp_path / "none.yaml"), "--out", str(strict_out)]) == 2


def test_conversions_agree_with_the_shipped_configs() -> None:
    from gaitforge.data.transforms import build_transform

    def same_pipeline(a: list, b: list) -> bool:
        return repr(build_transform(a)) == repr(build_transform(b))

    swin = config_from_dict(convert_opengait_config(yaml.safe_load(SWINGAIT)).config)
    shipped = load_config("swingait_ccpg")
    assert swin.optimizer.param_groups == shipped.optimizer.param_groups
    assert swin.scheduler.min_lr == pytest.approx(shipped.scheduler.min_lr, rel=1e-4)
    shipped.scheduler.min_lr = swin.scheduler.min_lr
    assert swin.scheduler == shipped.scheduler and same_pipeline(swin.data.transforms, shipped.data.transforms)
    assert all(swin.model.args[k] == v for k, v in shipped.model.args.items())
    deep = config_from_dict(convert_opengait_config(yaml.safe_load(DEEPGAITV2)).config)
    shipped = load_config("deepgaitv2_casiab")
    assert same_pipeline(deep.data.transforms, shipped.data.transforms)
    assert (deep.data.p, deep.data.k, deep.scheduler.milestones) == (8, 16, shipped.scheduler.milestones)
    pp = config_from_dict(convert_opengait_config(yaml.safe_load(SKELETONGAIT_PP)).config)
    shipped = load_config("skeletongait_pp_ccpg")
    assert same_pipeline(pp.data.transforms, shipped.data.transforms) and pp.data.modalities == shipped.data.modalities
    assert pp.train.iterations == shipped.train.iterations and pp.scheduler.milestones == shipped.scheduler.milestones
