"""A Node as one record of the graph JSON's `nodes` list: the vocabulary reader and writer share.

`node_record` is the writer's whole mapping from a Node to a record; the reader runs it too, to
find the few values a file carries that the Node's columns cannot give back.
"""

from __future__ import annotations

import re
from typing import Any

from circuitstore.graph import Node

# circuit-tracer's field order; files written by it (the gemma graphs) carry exactly these.
FIELDS = (
    "node_id",
    "feature",
    "layer",
    "ctx_idx",
    "feature_type",
    "token_prob",
    "is_target_logit",
    "run_idx",
    "reverse_ctx_idx",
    "jsNodeId",
    "clerp",
    "influence",
    "activation",
)

# Written for latents unless the file said otherwise (the only kind circuit-tracer emits for CLTs).
LATENT_FEATURE_TYPE = "cross layer transcoder"

_KINDS = {"embedding": "token", "mlp reconstruction error": "error", "logit": "logit"}
_FEATURE_TYPES = {kind: feature_type for feature_type, kind in _KINDS.items()}

# `Output " Austin" (p=0.332)` (circuit-tracer) or `output: "Austin" (p=0.984)` (Anthropic):
# greedy, so a token that itself holds a quote is kept whole.
_LOGIT_CLERP = re.compile(r'\s*output:?\s*"(.*)"\s*\(p=[^()]*\)\s*', re.IGNORECASE | re.DOTALL)


def kind_of(feature_type: str) -> str | None:
    """The node kind a `feature_type` names: any transcoder (cross layer, per layer, ...) is a latent."""
    kind = _KINDS.get(feature_type)
    if kind is None and "transcoder" in feature_type:
        return "latent"
    return kind


def id_part(node_id: str) -> int | None:
    """The middle of a `<a>_<b>_<c>` node id as an int (a latent's index, a token's vocab id)."""
    parts = node_id.split("_")
    if len(parts) != 3:
        return None
    try:
        return int(parts[1])
    except ValueError:
        return None


def logit_text(clerp: str | None) -> str | None:
    """The output token a logit's clerp names, or None if it does not follow either style."""
    if clerp is None:
        return None
    match = _LOGIT_CLERP.fullmatch(clerp)
    return match.group(1) if match else None


def logit_clerp(text: str, probability: float) -> str:
    """The clerp circuit-tracer gives a logit: `Output "<text>" (p=0.332)`."""
    return f'Output "{text}" (p={probability:.3f})'


def pair(layer: int, index: int) -> int:
    """Neuronpedia's one-integer feature number for (layer, index): the Cantor pairing."""
    return (layer + index) * (layer + index + 1) // 2 + index


def node_record(node: Node, *, latent_type: str, logit_layer: int) -> dict[str, Any]:
    """The record circuit-tracer would write for this node; `file_feature`, `js_id` and `label`
    (as the clerp) win over derived values, so a file's own numbering is written back."""
    kind, pos = node.kind, node.position
    if kind == "token":
        layer, feature, js = "E", pos, f"E_{node.token_id}-{pos}"
    elif kind == "latent":
        layer, index = node.layer, node.feature_index
        layer, feature, js = str(layer), pair(layer, index), f"{layer}_{index}-0"
    elif kind == "error":
        layer, feature, js = str(node.layer), -1, f"{node.layer}_{pos}-0"
    else:
        layer = str(node.layer if node.layer is not None else logit_layer)
        feature, js = node.token_id, f"L_{node.token_id}-{pos}"
    clerp = node.label
    if clerp is None:
        clerp = ""
        if kind == "logit" and node.text is not None and node.probability is not None:
            clerp = logit_clerp(node.text, node.probability)
    return {
        "node_id": node.id,
        "feature": node.file_feature if node.file_feature is not None else feature,
        "layer": layer,
        "ctx_idx": pos,
        "feature_type": latent_type if kind == "latent" else _FEATURE_TYPES[kind],
        "token_prob": node.probability if node.probability is not None else 0.0,
        "is_target_logit": node.is_target,
        "run_idx": 0,
        "reverse_ctx_idx": 0,
        "jsNodeId": node.js_id if node.js_id is not None else js,
        "clerp": clerp,
        "influence": node.influence,
        "activation": node.activation,
    }
