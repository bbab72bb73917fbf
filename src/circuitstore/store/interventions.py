"""Keeping intervention results (circuitstore.interventions.Result) beside the graphs they test."""

from __future__ import annotations

from typing import Any

from circuitstore.interventions import ABLATE, SWAP_IN, Result
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher


def intervention_params(result: Result) -> dict[str, Any]:
    """The parameters write_intervention.cypher takes (see schema/data-model.md)."""
    plan = result.plan
    swap = plan.swap_graph
    names = {role: [t.name for t in plan.targets if t.role == role] for role in (ABLATE, SWAP_IN)}
    props = {
        "id": plan.id,
        "graph_id": plan.graph.meta.id,
        "kind": plan.kind,
        "mode": plan.mode,
        "scale": plan.scale,
        "targets": names[ABLATE],
        "swap_from": swap.meta.id if swap is not None else None,
        "swaps": names[SWAP_IN],
        "n_latents": len(plan.edits),
        "model": plan.model_spec,
        "transcoders": plan.transcoders_spec,
        "created": result.created,
        "relative_error": result.relative_error,
        "generate": plan.generate,
        "text_before": result.text_before,
        "text_after": result.text_after,
        "name": plan.description,
    }
    for when, top in (("before", result.top_before), ("after", result.top_after)):
        props[f"top_{when}"] = [t.text for t in top]
        props[f"top_{when}_token_ids"] = [t.token_id for t in top]
        props[f"top_{when}_probability"] = [t.probability for t in top]
    return {
        "props": props,
        "targets": [
            {
                "role": t.role,
                "graph_id": t.graph_id,
                "node_id": t.name if t.kind == "node" else None,
                "supernode": t.name if t.kind == "supernode" else None,
            }
            for t in plan.targets
        ],
        "changes": [
            {
                "graph_id": c.graph_id,
                "node_id": c.node_id,
                "before": c.before,
                "measured": c.measured,
                "predicted": c.predicted,
            }
            for c in result.logits
        ],
    }


def store_intervention(driver: neo4j.Driver, result: Result) -> str:
    """Store `result` in one transaction (replacing a stored result of the same request); return its id."""
    params = intervention_params(result)
    with driver.session() as session:
        return session.execute_write(
            lambda tx: tx.run(cypher("write_intervention"), **params).single(strict=True)["id"]
        )
