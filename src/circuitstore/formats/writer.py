"""AttributionGraph → graph JSON (Neuronpedia / circuit-tracer). A graph read from a file is
written back as that file was (see the package docstring); one from compute gets what
circuit-tracer would have written."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from circuitstore.formats.errors import FormatError
from circuitstore.formats.node_records import FIELDS, LATENT_FEATURE_TYPE, node_record
from circuitstore.graph import AttributionGraph, GraphMeta

# The graph JSON schema version circuit-tracer writes.
SCHEMA_VERSION = 1
# Neuronpedia's view state for a graph nobody has looked at yet.
_FRESH_Q_PARAMS = {"pinnedIds": [], "linkType": "both", "clickedId": "", "sg_pos": ""}


def write_graph(graph: AttributionGraph, path: str | Path) -> None:
    path = Path(path)
    data = dumps_graph(graph, origin=str(path))
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise FormatError(f"{path}: cannot write ({exc.strerror or exc})") from None


def dumps_graph(graph: AttributionGraph, *, origin: str) -> bytes:
    """The file's bytes; `origin` (where they go) starts the error if the graph has values JSON
    cannot hold."""
    try:
        return orjson.dumps(dump_graph(graph), option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:
        raise FormatError(f"{origin}: graph {graph.meta.id!r} cannot be written as JSON ({exc})") from None


def dump_graph(graph: AttributionGraph) -> dict[str, Any]:
    """The file's JSON object (metadata, qParams, nodes, links)."""
    meta = graph.meta
    source = meta.source
    file_ids = source.get("node_ids", {})  # the file's own ids where they differ from the store's
    q_params = deepcopy(source.get("qParams", _FRESH_Q_PARAMS))  # editing the result leaves the graph be
    q_params["supernodes"] = _supernodes(graph, file_ids, by_js_id=source.get("supernode_members") == "jsNodeId")
    ids = [file_ids.get(node.id, node.id) for node in graph.nodes]
    return {
        "metadata": _metadata(meta),
        "qParams": q_params,
        "nodes": _nodes(graph, ids),
        "links": [
            {"source": ids[s], "target": ids[t], "weight": w}
            for s, t, w in zip(graph.sources.tolist(), graph.targets.tolist(), graph.weights.tolist())
        ],
    }


def _metadata(meta: GraphMeta) -> dict[str, Any]:
    md: dict[str, Any] = {"slug": meta.id, "scan": meta.model}
    if "metadata" in meta.source:
        md.update(deepcopy(meta.source["metadata"]))
        md["prompt_tokens"] = list(meta.prompt_tokens)
        md["prompt"] = meta.prompt
    else:
        # Not read from a file: circuit-tracer's metadata, then the transcoders (and the time)
        # where Neuronpedia's files record them.
        md.update(transcoder_list=[], prompt_tokens=list(meta.prompt_tokens), prompt=meta.prompt)
        if "node_threshold" in meta.pruning:
            md["node_threshold"] = meta.pruning["node_threshold"]
        md["schema_version"] = SCHEMA_VERSION
        info: dict[str, Any] = {"transcoder_set": meta.transcoder_set}
        if meta.generation.get("transcoder_url"):
            info["source_urls"] = [meta.generation["transcoder_url"]]  # where Neuronpedia's files name it
        if meta.kind != "attribution":
            info["graph_kind"] = meta.kind
        if meta.created is not None:
            try:
                info["create_time_ms"] = round(datetime.fromisoformat(meta.created).timestamp() * 1000)
            except ValueError:
                pass  # a free-form `created` has no place in the file
        md["info"] = info
    for key, value in (
        ("generation_settings", meta.generation),
        ("pruning_settings", meta.pruning),
        ("scores", meta.scores),
    ):
        if value:
            md[key] = dict(value)
    return md


def _nodes(graph: AttributionGraph, ids: list[str]) -> list[dict[str, Any]]:
    source = graph.meta.source
    fields = source.get("node_fields", FIELDS)
    latent_type = source.get("latent_feature_type", LATENT_FEATURE_TYPE)
    extras = source.get("node_extras", {})
    # A logit without a layer is put above every other layer, where the frontend draws logits.
    logit_layer = 1 + max((n.layer for n in graph.nodes if n.kind in ("latent", "error")), default=0)
    records = []
    for node, file_id in zip(graph.nodes, ids):
        record = node_record(node, latent_type=latent_type, logit_layer=logit_layer)
        record["node_id"] = file_id
        record.update(extras.get(node.id, ()))
        records.append({k: record[k] for k in fields if k in record})
    return records


def _supernodes(graph: AttributionGraph, file_ids: dict[str, str], *, by_js_id: bool) -> list[list[str]]:
    """`[name, member, ...]` lists; members by jsNodeId when the file named them so (several
    nodes that share one jsNodeId then fold back into the one member they came from)."""
    out = []
    for sn in graph.supernodes:
        members = tuple(file_ids.get(m, m) for m in sn.members)
        if by_js_id:
            members = tuple(dict.fromkeys(graph.node(m).js_id or f for m, f in zip(sn.members, members)))
        out.append([sn.name, *members])
    return out
