"""Captions of shared Features: the one rule every writer of `Feature.name` uses.

A `:Feature` may carry two labels, kept apart: `label`, derived from the graphs that carry it
(store/feature_labels.cypher), and `auto_label`, read off the weights. Its caption `name`, what
Neo4j Browser and the queries show, is `L<layer>/<index>` followed by the imported label where
there is one, else the automatic one.
"""

from __future__ import annotations


def feature_caption(layer: int, index: int, label: str | None = None, auto_label: str | None = None) -> str:
    """`L<layer>/<index>`, then the imported label if any, else the automatic one."""
    text = label or auto_label
    return f"L{layer}/{index} {text}" if text else f"L{layer}/{index}"
