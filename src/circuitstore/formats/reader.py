"""Graph JSON (Neuronpedia / circuit-tracer) → AttributionGraph. The mapping is described in
the package docstring; every problem becomes one FormatError line starting with the origin."""

from __future__ import annotations

import ast
import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from circuitstore.formats.errors import FormatError, NotAGraphFile
from circuitstore.formats.node_records import (
    FIELDS,
    LATENT_FEATURE_TYPE,
    id_part,
    kind_of,
    logit_text,
    node_record,
)
from circuitstore.graph import AttributionGraph, GraphError, GraphMeta, Node, Supernode
from circuitstore.identity import error_id

# Metadata entries that have a GraphMeta column; the rest is kept in source["metadata"].
_META_COLUMNS = ("slug", "prompt", "prompt_tokens", "generation_settings", "pruning_settings", "scores")
# Anthropic's scans name a training run, not a model: the model each one is.
_SCAN_MODELS = {"jackl-circuits-": "claude-3.5-haiku"}
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


class _Bad(ValueError):
    """A problem found inside one part of the file; the caller adds where."""


def read_graph(path: str | Path) -> AttributionGraph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON ({_decode_problem(data, exc)})") from None
    return parse_graph(obj, origin=str(path))


def _decode_problem(data: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + 1
        column = bad.start - (data.rfind(b"\n", 0, bad.start) + 1) + 1
        return (
            f"byte 0x{data[bad.start]:02x} at line {line} byte {column} is not UTF-8; "
            "save the file as UTF-8 (it looks like Latin-1 or another legacy encoding)"
        )
    text = data.decode("utf-8", errors="replace")  # exc.pos counts characters, not bytes
    where = f"line {exc.lineno} column {exc.colno}"
    if not text.strip():
        return "the file is empty"
    if exc.pos >= len(text.rstrip()):
        return f"it ends too early, at {where}: truncated?"
    if text.startswith(_NON_FINITE, exc.pos):
        return f"NaN or Infinity at {where}, which JSON does not allow"
    return f"{exc.msg} at {where}"


def parse_graph(obj: Any, *, origin: str) -> AttributionGraph:
    """Build the graph from a parsed file; `origin` (a path or a name) prefixes every error and
    gives the graph id when the file has no slug. JSON that is no graph file at all raises
    NotAGraphFile, a FormatError."""
    if not isinstance(obj, dict) or not obj.keys() & {"metadata", "nodes", "links"}:
        got = f"an object with keys {', '.join(map(repr, list(obj)[:5]))}" if isinstance(obj, dict) else _type(obj)
        raise NotAGraphFile(f"{origin}: expected a JSON object with metadata, nodes and links, got {got}")
    try:
        return _parse(obj, origin)
    except (_Bad, GraphError) as exc:
        raise FormatError(f"{origin}: {exc}") from None


def _parse(obj: dict, origin: str) -> AttributionGraph:
    md = _field(obj, "metadata", dict, "the file")
    q_params = obj.get("qParams", {})
    if not isinstance(q_params, dict):
        raise _Bad(f"qParams must be an object, got {_type(q_params)}")
    raw_nodes = _field(obj, "nodes", list, "the file")
    links = _field(obj, "links", list, "the file")

    meta = _meta(md, origin)
    nodes = []
    for i, raw in enumerate(raw_nodes):
        try:
            nodes.append(_node(raw, meta.prompt_tokens))
        except (_Bad, GraphError) as exc:
            raise _Bad(f"nodes[{i}]: {exc}") from None
    file_ids = [raw["node_id"] for raw in raw_nodes]
    # Links and supernodes name nodes by the file's ids.
    index = _file_index(file_ids, nodes)
    sources, targets, weights = _links(links, index)
    supernodes, by_js_id = _supernodes(q_params.get("supernodes", []), nodes, index)

    meta = replace(meta, source=_source(md, q_params, raw_nodes, nodes, by_js_id))
    return AttributionGraph(meta, nodes, sources, targets, weights, supernodes)


def _file_index(file_ids: list[str], nodes: list[Node]) -> dict[str, int]:
    """{file node id: node index}. An error id of circuit-tracer's `0_<layer>_<pos>` style can
    be a layer-0 latent's id too; then the file's links cannot tell the two apart."""
    index: dict[str, int] = {}
    for i, file_id in enumerate(file_ids):
        if file_id in index:
            other = nodes[index[file_id]]
            if "error" in (other.kind, nodes[i].kind) and other.kind != nodes[i].kind:
                raise _Bad(
                    f"node id {file_id!r} names both a latent and an error node (circuit-tracer's "
                    "0_<layer>_<position> error ids): the file's links cannot tell them apart"
                )
            raise _Bad(f"duplicate node id {file_id!r}")
        index[file_id] = i
    return index


def _source(md: dict, q_params: dict, raw_nodes: list[dict], nodes: list[Node], by_js_id: bool) -> dict:
    """What the file carried that no column holds (see the package docstring)."""
    source: dict[str, Any] = {
        "metadata": {k: v for k, v in md.items() if k not in _META_COLUMNS},
        "qParams": {k: v for k, v in q_params.items() if k != "supernodes"},
    }
    renamed = {node.id: raw["node_id"] for raw, node in zip(raw_nodes, nodes) if raw["node_id"] != node.id}
    if renamed:
        source["node_ids"] = renamed
    fields = list(dict.fromkeys(chain.from_iterable(raw_nodes)))
    if fields != list(FIELDS):
        source["node_fields"] = fields
    latent_type = next(
        (raw["feature_type"] for raw, node in zip(raw_nodes, nodes) if node.kind == "latent"), LATENT_FEATURE_TYPE
    )
    if latent_type != LATENT_FEATURE_TYPE:
        source["latent_feature_type"] = latent_type
    if by_js_id:
        source["supernode_members"] = "jsNodeId"
    # What a record holds beyond what the writer derives from its Node (Haiku's
    # reverse_ctx_idx, say) is kept, so that the file is written back as it was.
    extras = {}
    for raw, node in zip(raw_nodes, nodes):
        derived = node_record(node, latent_type=latent_type, logit_layer=0)  # read logits have layers
        derived["node_id"] = raw["node_id"]  # kept in source["node_ids"]
        if raw != derived:
            extra = {k: v for k, v in raw.items() if k not in derived or derived[k] != v}
            if extra:
                extras[node.id] = extra
    if extras:
        source["node_extras"] = extras
    return source


def _meta(md: dict, origin: str) -> GraphMeta:
    tokens = _field(md, "prompt_tokens", list, "metadata")
    if not all(isinstance(t, str) for t in tokens):
        raise _Bad("metadata.prompt_tokens must be a list of strings")
    scan = _field(md, "scan", str, "metadata")
    slug = md.get("slug")
    if slug is not None and not isinstance(slug, str):
        raise _Bad(f"metadata.slug must be a string, got {_type(slug)}")
    # Surrounding whitespace is never meant: " x " and "x" are the same graph.
    slug = (slug or "").strip() or Path(origin).stem.strip()
    info = _info(md)
    transcoder_set = info.get("transcoder_set")
    if transcoder_set is not None and not (isinstance(transcoder_set, str) and transcoder_set.strip()):
        raise _Bad(f"metadata.info.transcoder_set must be a non-empty string, got {_show(transcoder_set)}")
    return GraphMeta(
        id=slug,
        prompt=_field(md, "prompt", str, "metadata"),
        prompt_tokens=tuple(tokens),
        model=next((model for prefix, model in _SCAN_MODELS.items() if scan.startswith(prefix)), scan),
        transcoder_set=transcoder_set or scan,
        created=_created(info.get("create_time_ms")),
        generation=_optional(md, "generation_settings"),
        pruning=_optional(md, "pruning_settings"),
        scores=_optional(md, "scores"),
        kind=info.get("graph_kind", "attribution"),
    )


def _created(ms: Any) -> str | None:
    """info.create_time_ms (milliseconds since the epoch) as ISO 8601 UTC; None if absent."""
    if ms is None:
        return None
    problem = f"metadata.info.create_time_ms must be milliseconds since 1970, got {_show(ms)}"
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        raise _Bad(problem)
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        raise _Bad(problem) from None


def _info(md: dict) -> dict:
    """metadata.info as a dict ({} when absent). Some producers wrote it as a Python repr string:
    that is read with ast.literal_eval (literals only, nothing is run). An info that is present
    but unreadable is refused: it names the transcoder set, and guessing another one would give
    the graph Features that its siblings do not share."""
    info = md.get("info")
    if info is None:
        return {}
    if isinstance(info, str):
        try:
            info = ast.literal_eval(info)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise _Bad(
                f"metadata.info is neither an object nor a readable Python dict literal ({_show(md['info'])}), "
                "so its transcoder_set is unknown"
            ) from None
    if not isinstance(info, dict):
        raise _Bad(f"metadata.info must be an object, got {_show(md['info'])}")
    return info


def _node(raw: Any, tokens: tuple[str, ...]) -> Node:
    if not isinstance(raw, dict):
        raise _Bad(f"expected an object, got {_type(raw)}")
    node_id = _field(raw, "node_id", str, "the node")
    who = f"node {node_id!r}"
    feature_type = _field(raw, "feature_type", str, who)
    kind = kind_of(feature_type)
    if kind is None:
        raise _Bad(f"{who} has unknown feature_type {feature_type!r}")
    position = _field(raw, "ctx_idx", int, who)
    label = raw.get("clerp")
    if label is not None and not isinstance(label, str):
        raise _Bad(f"{who}: clerp must be a string, got {_show(label)}")
    label = label or None
    js_id = raw.get("jsNodeId")
    if js_id is not None and not isinstance(js_id, str):
        raise _Bad(f"{who}: jsNodeId must be a string, got {_show(js_id)}")
    file_feature = raw.get("feature")
    if isinstance(file_feature, float) and file_feature.is_integer():
        # orjson reads an integer beyond 64 bits as a float
        raise _Bad(f"{who}: feature {file_feature:.0f} does not fit in 64 bits")
    if file_feature is not None and (not isinstance(file_feature, int) or isinstance(file_feature, bool)):
        raise _Bad(f"{who}: feature must be an integer or null, got {_show(file_feature)}")
    is_target = raw.get("is_target_logit", False)
    if not isinstance(is_target, bool):
        raise _Bad(f"{who}: is_target_logit must be true or false, got {_show(is_target)}")

    layer = feature_index = token_id = text = probability = None
    if kind == "error":
        node_id = error_id(_layer(raw.get("layer"), who), position)
    if kind == "token":
        token_id = id_part(node_id)
        if not 0 <= position < len(tokens):
            raise _Bad(f"{who}: ctx_idx {position} is outside the prompt's {len(tokens)} tokens")
        text = tokens[position]
    else:
        layer = _layer(raw.get("layer"), who)
        if kind == "latent":
            feature_index = id_part(node_id)
            if feature_index is None:
                raise _Bad(f"{who}: a latent's id must be <layer>_<index>_<position>")
        elif kind == "logit":
            token_id, text = file_feature, logit_text(label)
            probability = _number(raw, "token_prob", who)
    return Node(
        id=node_id,
        kind=kind,
        position=position,
        layer=layer,
        feature_index=feature_index,
        token_id=token_id,
        text=text,
        activation=_number(raw, "activation", who),
        influence=_number(raw, "influence", who),
        probability=probability,
        label=label,
        is_target=is_target and kind == "logit",
        file_feature=file_feature,
        js_id=js_id,
    )


def _links(links: list, index: dict[str, int]) -> tuple[list[int], list[int], np.ndarray]:
    try:
        sources = [index[link["source"]] for link in links]
        targets = [index[link["target"]] for link in links]
        values = [link["weight"] for link in links]
    except (KeyError, TypeError):
        raise _Bad(_bad_link(links, index)) from None
    # Only JSON numbers: numpy would quietly take true as 1.0 (bool is an int in Python).
    if not set(map(type, values)) <= {float, int}:
        raise _Bad(_bad_link(links, index))
    return sources, targets, np.array(values, dtype=np.float64)


def _bad_link(links: list, index: dict[str, int]) -> str:
    """The first link that the fast path could not take, and why (only run on failure)."""
    for i, link in enumerate(links):
        if not isinstance(link, dict):
            return f"links[{i}]: expected an object, got {_type(link)}"
        for role in ("source", "target"):
            if role not in link:
                return f"links[{i}] has no {role!r}"
            if not isinstance(link[role], str) or link[role] not in index:
                return f"links[{i}]: {role} {link[role]!r} is not a node of this graph"
        weight = link.get("weight")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            return f"links[{i}] ({link['source']} -> {link['target']}): weight must be a number, got {_show(weight)}"
    raise AssertionError("no bad link found")  # only called once a link failed


def _supernodes(raw: Any, nodes: list[Node], index: dict[str, int]) -> tuple[list[Supernode], bool]:
    """qParams.supernodes, `[name, member, ...]` each. A member is a node id or else a jsNodeId;
    a jsNodeId names a feature rather than one place (gemma: `<layer>_<index>-0` at every
    position), so it stands for every node that carries it. Returns the supernodes and whether
    any member was a jsNodeId."""
    if not isinstance(raw, list):
        raise _Bad(f"qParams.supernodes must be a list, got {_type(raw)}")
    by_js: dict[str, list[str]] = {}
    for node in nodes:
        if node.js_id is not None:
            by_js.setdefault(node.js_id, []).append(node.id)
    used_js = False
    supernodes = []
    for i, entry in enumerate(raw):
        if not (isinstance(entry, list) and entry and all(isinstance(x, str) for x in entry)):
            raise _Bad(f"qParams.supernodes[{i}] must be a list of strings [name, member, ...]")
        name, *members = entry
        ids: list[str] = []
        for member in members:
            if member in index:
                ids.append(nodes[index[member]].id)
            elif member in by_js:
                ids.extend(by_js[member])
                used_js = True
            else:
                raise _Bad(f"supernode {name!r} names {member!r}, which is neither a node id nor a jsNodeId")
        supernodes.append(Supernode(name, tuple(dict.fromkeys(ids))))
    return supernodes, used_js


def _field(obj: dict, key: str, kind: type, owner: str) -> Any:
    if key not in obj:
        raise _Bad(f"{owner} has no {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(f"{owner}: {key!r} must be {_TYPE_NAMES[kind]}, got {_type(value)}")
    return value


def _optional(md: dict, key: str) -> dict:
    """An optional settings object: null or absent is empty; its keys are kept, known or not."""
    value = md.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(f"metadata.{key} must be an object, got {_show(value)}")
    return value


def _layer(value: Any, who: str) -> int:
    """A layer number, as an int or a numeric string ("E" and the like are for tokens only)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise _Bad(f"{who}: layer must be an integer, got {_show(value)}")


def _number(raw: dict, key: str, who: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise _Bad(f"{who}: {key} must be a finite number or null, got {_show(value)}")
    return float(value)


_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _type(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    """A value as JSON would spell it (`true`, `null`, `"x"`), cut short: error messages stay one short line."""
    scalar = isinstance(value, (bool, type(None), str, int, float))
    text = json.dumps(value, ensure_ascii=False) if scalar else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
