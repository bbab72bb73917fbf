"""How a graph is computed and pruned, and what `circuitstore ingest` computes with by default.

Torch-free, so the command line reads its defaults here without loading the compute layer."""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field, fields

from circuitstore.errors import CircuitstoreError

DEFAULT_MODEL = "gemma-3-270m"
DEFAULT_TRANSCODERS = "gemma-scope-2-270m-pt-transcoders-all"
# What a token node writes: its embedding W_E[token] (at hook_embed, as circuit-tracer), or the
# whole first residual stream, W_E[token] plus the learned position embedding where there is one.
TOKEN_VECTORS = ("embed", "resid_pre")
# The settings that say which convention a graph follows; they are recorded on the stored :Graph.
CONVENTIONS = ("position_0_sources", "token_vectors")
# The planted-circuit model and its transcoders (compute/planted.py), built offline on first use.
PLANTED = "planted"
# The entries of a computed graph's generation settings that say how to load its model and
# transcoders again (the specs load_model and load_transcoders were given, paths made absolute).
MODEL_SPEC, TRANSCODERS_SPEC = "model_spec", "transcoders_spec"
# What an attribution target reads (see Target).
TARGET_KINDS = ("token", "diff", "vector")
# The least default weight of a logit difference, so that a difference with equal
# probabilities still counts (circuit-tracer's demo floors it the same way).
MIN_DIFF_WEIGHT = 1e-6


def default_transcoders(model: str | None) -> str:
    """The transcoders `ingest` takes for `model` when none are named."""
    return PLANTED if model == PLANTED else DEFAULT_TRANSCODERS


class SettingsError(CircuitstoreError, ValueError):
    """Attribution settings out of their range."""


@dataclass(frozen=True)
class Target:
    """One attribution target, in place of the most likely logits (circuit-tracer's
    AttributionTargets); each becomes a logit node.

    - `token`: the logit of one token, `tokens=(text or id,)` (a text must be one token). Read
      along its unembedding column minus the mean column, as the salient logits are; weighted by
      its probability.
    - `diff`: a logit difference, `tokens=(a, b)`: read along W_U[:, a] - W_U[:, b]; weight
      |p(a) - p(b)| (at least MIN_DIFF_WEIGHT) unless given; label `logit(a)-logit(b)` unless given.
    - `vector`: any direction at the unembedding's input, `vector` (d_model numbers), read as
      given (not demeaned); weight 1 unless given; label "vector" unless given.
    A difference or a vector is no vocabulary token: its logit node has no token id and is
    numbered d_vocab + its place among the targets, as circuit-tracer numbers it.
    """

    kind: str
    tokens: tuple[str | int, ...] = ()
    vector: tuple[float, ...] = ()
    label: str | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        arity = {"token": 1, "diff": 2, "vector": 0}.get(self.kind)
        if arity is None:
            raise SettingsError(f"target kind must be one of {', '.join(TARGET_KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "tokens", tuple(self.tokens))
        object.__setattr__(self, "vector", tuple(float(v) for v in self.vector))
        if len(self.tokens) != arity or not all(isinstance(t, (str, int)) for t in self.tokens):
            raise SettingsError(f"a {self.kind} target names {arity} token(s), got {list(self.tokens)!r}")
        if (self.kind == "vector") != bool(self.vector) or not all(map(math.isfinite, self.vector)):
            raise SettingsError("a vector target, and only one, has a vector of finite numbers")
        if self.kind == "token" and (self.weight is not None or self.label is not None):
            raise SettingsError("a token target is weighted by its probability and labelled by its text")
        if self.weight is not None and not (math.isfinite(self.weight) and self.weight > 0):
            raise SettingsError(f"a target's weight must be a positive number, got {self.weight!r}")

    def describe(self) -> str:
        """The label a diff or vector target's logit node gets (a token's is its text)."""
        if self.label is not None:
            return self.label
        if self.kind == "diff":
            return f"logit({self.tokens[0]})-logit({self.tokens[1]})"
        return "vector" if self.kind == "vector" else str(self.tokens[0])

    def record(self) -> dict:
        """The target as the generation settings (and the graph id) keep it: a vector by its
        length and a digest of its values."""
        out: dict = {"kind": self.kind}
        if self.tokens:
            out["tokens"] = list(self.tokens)
        if self.vector:
            out["dim"] = len(self.vector)
            # Of the values as little-endian float64s (numpy's float64 tobytes()).
            out["sha256"] = hashlib.sha256(struct.pack(f"<{len(self.vector)}d", *self.vector)).hexdigest()
        if self.label is not None:
            out["label"] = self.label
        if self.weight is not None:
            out["weight"] = self.weight
        return out


@dataclass(frozen=True)
class AttributionSettings:
    """How a graph is computed and pruned; the defaults compute what circuit-tracer computes.

    `max_feature_nodes=None` visits every active latent; with a cap, the latents left are ranked
    by their influence on the logits every `update_interval` batches. `position_0_sources` makes
    the latents and errors at position 0 sources (circuit-tracer zeroes them: the first position
    is an attention sink whose activations are outliers). `token_vectors` is one of TOKEN_VECTORS.
    `targets` (Target) replace the most likely logits, in their order (the first is the graph's
    target logit); without them `max_n_logits` and `desired_logit_prob` choose the logits.
    """

    max_n_logits: int = 10
    desired_logit_prob: float = 0.95
    batch_size: int = 64
    max_feature_nodes: int | None = 8192
    update_interval: int = 4
    position_0_sources: bool = False
    token_vectors: str = "embed"
    node_threshold: float = 0.8
    edge_threshold: float = 0.98
    targets: tuple[Target, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        if not all(isinstance(t, Target) for t in self.targets):
            raise SettingsError("targets must be Target values")
        if self.max_n_logits < 1 or self.batch_size < 1 or self.update_interval < 1:
            raise SettingsError("max_n_logits, batch_size and update_interval must be at least 1")
        if self.max_feature_nodes is not None and self.max_feature_nodes < 0:
            raise SettingsError("max_feature_nodes must be non-negative")
        for name in ("desired_logit_prob", "node_threshold", "edge_threshold"):
            if not 0 < getattr(self, name) <= 1:
                raise SettingsError(f"{name} must lie in (0, 1], got {getattr(self, name)}")
        if self.token_vectors not in TOKEN_VECTORS:
            raise SettingsError(f"token_vectors must be one of {', '.join(TOKEN_VECTORS)}, got {self.token_vectors!r}")

    def generation(self) -> dict:
        """The settings that shape the unpruned graph (all but the pruning thresholds); targets
        as Target.record() has them, and only where there are any."""
        return {k: v for k, v in self._records().items() if k not in ("node_threshold", "edge_threshold")}

    def identity(self) -> dict:
        """The settings a graph id hashes: all that change the stored graph (not the batch size)."""
        return {k: v for k, v in self._records().items() if k != "batch_size"}

    def _records(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "targets"}
        if self.targets:
            out["targets"] = [t.record() for t in self.targets]
        return out
