"""The logit nodes of a graph and the vectors they are read along, at the last position of the
normalised final residual stream (the unembedding's input).

Without targets in the settings they are the most likely next tokens (circuit-tracer's salient
logits): by probability, until `desired_logit_prob` is reached, at most `max_n_logits`; each
read along its unembedding column minus the mean column, weighted by its probability. With
targets (settings.Target) they are those, in their order: a token as a salient logit is; a
logit difference W_U[:, a] - W_U[:, b] and any given vector as they are (not demeaned), numbered
d_vocab + their place among the targets, as circuit-tracer numbers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from circuitstore import identity
from circuitstore.compute.errors import ComputeError
from circuitstore.formats.node_records import logit_clerp
from circuitstore.graph import Node
from circuitstore.settings import MIN_DIFF_WEIGHT, AttributionSettings, Target


@dataclass(frozen=True)
class LogitTargets:
    """One entry per logit node, in node order."""

    vocab_indices: list[int]  # a token's id; d_vocab + place for a difference or a vector
    token_ids: list[int | None]  # None: not a vocabulary token
    texts: list[str]  # the token's text, or the target's label
    weights: list[float]  # probability (tokens), else the target's weight
    reads: torch.Tensor  # [n, d_model]

    def nodes(self, n_layers: int, n_pos: int) -> list[Node]:
        return logit_nodes(n_layers, n_pos, self.vocab_indices, self.token_ids, self.texts, self.weights)


def logit_nodes(
    n_layers: int,
    n_pos: int,
    vocab_indices: Sequence[int],
    token_ids: Sequence[int | None],
    texts: Sequence[str],
    weights: Sequence[float],
) -> list[Node]:
    """Logit nodes at the last position, in the order given (the first is the target), labelled
    as circuit-tracer labels them; one per (vocab index, token id, text, weight)."""
    return [
        Node(
            identity.logit_id(n_layers, index, n_pos - 1),
            "logit",
            n_pos - 1,
            layer=n_layers + 1,
            token_id=token,
            text=text,
            probability=weight,
            label=logit_clerp(text, weight),
            is_target=j == 0,
            # A difference or a vector has no token: its file number is its index, as
            # circuit-tracer writes it.
            file_feature=None if token is not None else index,
            js_id=None if token is not None else f"L_{index}-{n_pos - 1}",
        )
        for j, (index, token, text, weight) in enumerate(zip(vocab_indices, token_ids, texts, weights))
    ]


def token_text(model: HookedTransformer, token: int) -> str:
    return model.tokenizer.decode([token]) if model.tokenizer is not None else str(token)


def check_targets(model: HookedTransformer, targets: tuple[Target, ...]) -> None:
    """Every target names tokens of the model and vectors of its width (before any compute)."""
    for target in targets:
        for token in target.tokens:
            token_index(model, token)
        if target.kind == "vector" and len(target.vector) != model.cfg.d_model:
            raise ComputeError(
                f"target {target.describe()!r}: a vector of {len(target.vector)} numbers, the model's d_model is "
                f"{model.cfg.d_model}"
            )


def token_index(model: HookedTransformer, token: str | int) -> int:
    """A target token's id: an id as given, or a text that must be exactly one token (a model
    without a tokenizer reads a text of digits as an id)."""
    if isinstance(token, str):
        if model.tokenizer is None:
            if not token.strip().isdigit():
                raise ComputeError(f"target {token!r}: the model has no tokenizer, give a token id")
            token = int(token)
        else:
            ids = model.tokenizer(token, add_special_tokens=False).input_ids
            if len(ids) != 1:
                raise ComputeError(f"target {token!r} is {len(ids)} tokens {ids}, not one")
            token = ids[0]
    if not 0 <= token < model.cfg.d_vocab:
        raise ComputeError(f"target token id {token} is outside the vocabulary of {model.cfg.d_vocab}")
    return token


def logit_targets(
    model: HookedTransformer, next_logits: torch.Tensor, settings: AttributionSettings, dtype: torch.dtype
) -> LogitTargets:
    """The logit nodes for a prompt whose next-token logits are `next_logits`."""
    probs = torch.softmax(next_logits.to(dtype), dim=-1)
    w_u = model.W_U.to(dtype)
    mean = w_u.mean(dim=1)
    if not settings.targets:
        ordered = probs.sort(descending=True)
        reached = int((ordered.values.cumsum(0) < settings.desired_logit_prob).sum()) + 1
        tokens = ordered.indices[: min(reached, settings.max_n_logits)].tolist()
        reads = (w_u[:, tokens] - mean[:, None]).T
        texts = [token_text(model, t) for t in tokens]
        return LogitTargets(tokens, list(tokens), texts, probs[tokens].tolist(), reads)
    check_targets(model, settings.targets)
    vocab_indices, token_ids, texts, weights, reads = [], [], [], [], []
    for place, target in enumerate(settings.targets):
        ids = [token_index(model, t) for t in target.tokens]
        if target.kind == "token":
            vocab_indices.append(ids[0])
            token_ids.append(ids[0])
            texts.append(token_text(model, ids[0]))
            weights.append(float(probs[ids[0]]))
            reads.append(w_u[:, ids[0]] - mean)
            continue
        vocab_indices.append(len(probs) + place)
        token_ids.append(None)
        texts.append(target.describe())
        if target.kind == "diff":
            weight = max(abs(float(probs[ids[0]] - probs[ids[1]])), MIN_DIFF_WEIGHT)
            reads.append(w_u[:, ids[0]] - w_u[:, ids[1]])
        else:
            weight = 1.0
            reads.append(torch.tensor(target.vector, dtype=dtype, device=w_u.device))
        weights.append(weight if target.weight is None else target.weight)
    return LogitTargets(vocab_indices, token_ids, texts, weights, torch.stack(reads))
