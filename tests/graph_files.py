"""A small graph file made up for tests, in circuit-tracer's shape: bad inputs are edits of it."""

from __future__ import annotations


def cantor(layer: int, index: int) -> int:
    return (layer + index) * (layer + index + 1) // 2 + index


def node(node_id, feature_type, layer, ctx, feature, **more):
    record = {
        "node_id": node_id,
        "feature": feature,
        "layer": layer,
        "ctx_idx": ctx,
        "feature_type": feature_type,
        "token_prob": 0.0,
        "is_target_logit": False,
        "run_idx": 0,
        "reverse_ctx_idx": 0,
        "jsNodeId": f"js-{node_id}",
        "clerp": "",
        "influence": 0.5,
        "activation": None,
    }
    return {**record, **more}


def small_file() -> dict:
    return {
        "metadata": {
            "slug": "tiny",
            "scan": "gemma-2-2b",
            "prompt_tokens": ["<bos>", "Hé ↑"],
            "prompt": "<bos>Hé ↑",
            "info": {"transcoder_set": "some/clt", "create_time_ms": 1760913342206},
        },
        "qParams": {"pinnedIds": [], "supernodes": [["grp", "0_3_1", "1_-1_1"]], "linkType": "both"},
        "nodes": [
            node("E_2_0", "embedding", "E", 0, 0),
            node("E_17_1", "embedding", "E", 1, 1),
            # a layer-0 latent, and errors in the older id style (which looks like a layer-0 latent)
            # and the newer one: the kind and layer come from feature_type and layer, and an
            # error's id becomes the newer style.
            node("0_3_1", "cross layer transcoder", "0", 1, cantor(0, 3), activation=1.25, clerp="greeting"),
            node("0_4_1", "mlp reconstruction error", "4", 1, -1),
            node("1_-1_1", "mlp reconstruction error", "1", 1, -1),
            node(
                "27_99_1",
                "logit",
                "27",
                1,
                99,
                token_prob=0.75,
                is_target_logit=True,
                clerp='Output " there" (p=0.750)',
                influence=None,
            ),
        ],
        "links": [
            {"source": "E_17_1", "target": "0_3_1", "weight": 2.5},
            {"source": "0_3_1", "target": "27_99_1", "weight": -0.5},
            {"source": "0_4_1", "target": "27_99_1", "weight": 0.125},
            {"source": "1_-1_1", "target": "27_99_1", "weight": 1e-3},
        ],
    }


def labelled(slug: str, clerp: str) -> dict:
    """The small file under another slug, its latent 0_3_1 (Feature some/clt/0/3) labelled `clerp`."""
    f = small_file()
    f["metadata"]["slug"] = slug
    f["nodes"][2]["clerp"] = clerp
    return f
