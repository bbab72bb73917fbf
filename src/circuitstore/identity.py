"""Ids: of computed graphs and of their nodes, and of the shared nodes every stored graph links to.

Node ids (unique within a graph; circuit-tracer / Neuronpedia style where one exists):
- token       `E_<token_id>_<position>`
- latent      `<layer>_<feature index>_<position>`
- error       `<layer>_-1_<position>` (the layer's transcoder error there; graphs read from files
              get it too: circuit-tracer's own `0_<layer>_<position>` can be a layer-0 latent's id)
- logit       `<n_layers + 1>_<token_id>_<position>`; a logit node's layer is n_layers + 1

A graph id is a hash of everything that determines the stored graph: prompt text, token ids,
model, transcoder set and the settings that change the result (not the batch size; the
conventions and the update interval do), so
computing the same prompt again yields the same id and a rerun can skip what is stored.

Shared nodes (of any graph, computed or read from a file): a `:Feature` is
`<transcoder set>/<layer>/<index>`, a `:Vocab` entry `<model>/<token id>`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any


def token_id(token: int, position: int) -> str:
    return f"E_{token}_{position}"


def latent_id(layer: int, feature: int, position: int) -> str:
    return f"{layer}_{feature}_{position}"


def error_id(layer: int, position: int) -> str:
    return f"{layer}_-1_{position}"


def logit_id(n_layers: int, token: int, position: int) -> str:
    return f"{n_layers + 1}_{token}_{position}"


def graph_id(prompt: str, tokens: Sequence[int], model: str, transcoders: str, settings: Mapping[str, Any]) -> str:
    key = {
        "prompt": prompt,
        "tokens": list(tokens),
        "model": model,
        "transcoders": transcoders,
        "settings": dict(settings),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return f"cs-{digest[:20]}"


def feature_id(transcoder_set: str, layer: int, index: int) -> str:
    """The id of the `:Feature` a latent is an instance of."""
    return f"{transcoder_set}/{layer}/{index}"


def vocab_id(model: str, token_id: int) -> str:
    """The id of the `:Vocab` entry a token or logit is."""
    return f"{model}/{token_id}"
