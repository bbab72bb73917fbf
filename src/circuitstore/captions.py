"""Captions of shared Features: the one rule every writer of `Feature.name` uses; and the
automatic label the weights give a Feature.

A `:Feature` may carry two labels, kept apart: `label`, derived from the graphs that carry it
(store/feature_labels.cypher), and `auto_label`, read off the weights by `circuitstore weights
build` (its tokens in and out, see auto_label). Its caption `name`, what Neo4j Browser and the
queries show, is `L<layer>/<index>` followed by the imported label where there is one, else the
automatic one (feature_caption).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

# Tokens shown per side of an automatic label.
AUTO_LABEL_TOKENS = 3


def feature_caption(layer: int, index: int, label: str | None = None, auto_label: str | None = None) -> str:
    """`L<layer>/<index>`, then the imported label if any, else the automatic one."""
    text = label or auto_label
    return f"L{layer}/{index} {text}" if text else f"L{layer}/{index}"


def _shown(token: str) -> str:
    # Whitespace-only tokens would vanish; show them quoted and escaped instead.
    return token.strip() or json.dumps(token, ensure_ascii=False)


def auto_label(inputs: Sequence[str], outputs: Sequence[str]) -> str | None:
    """`in: Dallas, Houston | out: Texas, TX` from a feature's top de-embedding tokens (what
    excites it) and top logit-lens tokens (what it promotes), best first (the build passes only
    those of positive weight); None when both are empty."""
    parts = []
    for side, tokens in (("in", inputs), ("out", outputs)):
        if tokens:
            parts.append(f"{side}: " + ", ".join(_shown(t) for t in tokens[:AUTO_LABEL_TOKENS]))
    return " | ".join(parts) or None
