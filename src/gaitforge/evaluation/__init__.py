"""Evaluation: part distances, streaming retrieval metrics and the field's protocols as data.

Five-line use::

    from gaitforge.evaluation import load_embeddings_npz, score_embeddings
    d = load_embeddings_npz("emb.npz")
    result = score_embeddings("casia-b", d.embeddings, d.labels, d.types, d.views, metric="euc")
    print(result)                      # NM/BG/CL x probe views, like the papers
    result.save_json("casiab.json")    # peer keys (scalar/test_accuracy/NM@R1), per-view matrices, counts
"""

from __future__ import annotations

from .cli import add_score_arguments, run_score
from .data import EvalData, load_embeddings_npz, make_eval_data
from .distance import DEFAULT_MEMORY_LIMIT_MB, PreparedGallery, iter_distance_chunks, part_distance
from .metrics import cmc_from_first_positions, first_match_positions, ranking_stats, smallest_k
from .protocols import PROTOCOLS, get_protocol, list_protocols, protocol_for_dataset
from .rerank import k_reciprocal_rerank
from .results import EvaluationResult
from .score import score_data, score_embeddings

__all__ = [
    "DEFAULT_MEMORY_LIMIT_MB",
    "EvalData",
    "EvaluationResult",
    "PROTOCOLS",
    "PreparedGallery",
    "add_score_arguments",
    "cmc_from_first_positions",
    "first_match_positions",
    "get_protocol",
    "iter_distance_chunks",
    "k_reciprocal_rerank",
    "list_protocols",
    "load_embeddings_npz",
    "make_eval_data",
    "part_distance",
    "protocol_for_dataset",
    "ranking_stats",
    "run_score",
    "score_data",
    "score_embeddings",
    "smallest_k",
]
