"""What a graph file holds, computed straight from its raw JSON (no circuitstore code), so store
tests compare Neo4j against an independent reading of the file."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

# feature_type → the kind label a node gets in Neo4j (any "... transcoder" is a latent).
KIND_LABELS = {"embedding": "Token", "mlp reconstruction error": "Error", "logit": "Logit"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def graph_id(raw: dict, path: Path) -> str:
    return raw["metadata"].get("slug") or path.stem


def kind_label(node: dict) -> str:
    return KIND_LABELS.get(node["feature_type"], "Latent")


def store_id(node: dict) -> str:
    """The id a file's node gets in the store: an error `<layer>_-1_<position>` (a file's
    `0_<layer>_<position>` can be a latent's too), any other node its own."""
    if node["feature_type"] == "mlp reconstruction error":
        return f"{node['layer']}_-1_{node['ctx_idx']}"
    return node["node_id"]


def kind_counts(raw: dict) -> Counter:
    return Counter(kind_label(n) for n in raw["nodes"])


def feature_keys(raw: dict) -> set[tuple[int, int]]:
    """(layer, index within the layer) of every latent: the first two parts of its node id."""
    keys = set()
    for n in raw["nodes"]:
        if kind_label(n) == "Latent":
            layer, index, _ = n["node_id"].split("_")
            keys.add((int(layer), int(index)))
    return keys


def vocab_ids(raw: dict) -> set[int]:
    """Token ids of the prompt tokens (`E_<token id>_<pos>`) and of the logits (their `feature`)."""
    ids = set()
    for n in raw["nodes"]:
        if kind_label(n) == "Token":
            ids.add(int(n["node_id"].split("_")[1]))
        elif kind_label(n) == "Logit":
            ids.add(n["feature"])
    return ids


def shares(raw: dict) -> dict[tuple[str, str], float]:
    """weight / sum(|weight| into the target) for every link, by the nodes' store ids."""
    into: dict[str, float] = defaultdict(float)
    for link in raw["links"]:
        into[link["target"]] += abs(link["weight"])
    ids = {n["node_id"]: store_id(n) for n in raw["nodes"]}
    return {(ids[link["source"]], ids[link["target"]]): link["weight"] / into[link["target"]] for link in raw["links"]}


def weights(raw: dict) -> dict[tuple[str, str], float]:
    """Every link's weight, by the nodes' store ids."""
    ids = {n["node_id"]: store_id(n) for n in raw["nodes"]}
    return {(ids[link["source"]], ids[link["target"]]): link["weight"] for link in raw["links"]}


def supernode_members(raw: dict) -> dict[str, set[str]]:
    """{name: store ids}; a member that is no node id is a jsNodeId standing for every node with it."""
    ids = {n["node_id"]: store_id(n) for n in raw["nodes"]}
    by_js: dict[str, set[str]] = defaultdict(set)
    for n in raw["nodes"]:
        by_js[n.get("jsNodeId")].add(store_id(n))
    return {
        name: set().union(*({ids[m]} if m in ids else by_js[m] for m in members))
        for name, *members in raw["qParams"].get("supernodes", [])
    }


def transcoder_set(raw: dict) -> str:
    info = raw["metadata"].get("info") or {}
    return info.get("transcoder_set") or raw["metadata"]["scan"]


def feature_labels(raws: dict[str, dict]) -> dict[str, tuple[str, int] | None]:
    """{feature id: (label, how many graphs give it)} over {graph id: raw file}: of the clerps the
    graphs give a feature's latents, the one the most graphs give, ties to the alphabetically
    first; None for a feature no graph labels."""
    givers: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for gid, raw in raws.items():
        for n in raw["nodes"]:
            if kind_label(n) == "Latent":
                layer, index, _ = n["node_id"].split("_")
                labels = givers[f"{transcoder_set(raw)}/{layer}/{index}"]
                if n["clerp"]:
                    labels[n["clerp"]].add(gid)
    out: dict[str, tuple[str, int] | None] = {}
    for feature, labels in givers.items():
        ranked = sorted(labels.items(), key=lambda item: (-len(item[1]), item[0]))
        out[feature] = (ranked[0][0], len(ranked[0][1])) if ranked else None
    return out


def expected_labels(raws: dict[str, dict]) -> dict[str, tuple]:
    """What database.stored_labels must say once exactly these files are stored: per Feature
    (label, 'graph', how many graphs give it, caption), or no label and the bare caption."""
    out = {}
    for fid, best in feature_labels(raws).items():
        layer, index = fid.split("/")[-2:]
        if best is None:
            out[fid] = (None, None, None, f"L{layer}/{index}")
        else:
            out[fid] = (best[0], "graph", best[1], f"L{layer}/{index} {best[0]}")
    return out
