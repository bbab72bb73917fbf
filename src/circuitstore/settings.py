"""How a graph is computed and pruned, and what `circuitstore ingest` computes with by default.

Torch-free, so the command line reads its defaults here without loading the compute layer."""

from __future__ import annotations

from dataclasses import asdict, dataclass

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


def default_transcoders(model: str | None) -> str:
    """The transcoders `ingest` takes for `model` when none are named."""
    return PLANTED if model == PLANTED else DEFAULT_TRANSCODERS


class SettingsError(CircuitstoreError, ValueError):
    """Attribution settings out of their range."""


@dataclass(frozen=True)
class AttributionSettings:
    """How a graph is computed and pruned; the defaults compute what circuit-tracer computes.

    `max_feature_nodes=None` visits every active latent; with a cap, the latents left are ranked
    by their influence on the logits every `update_interval` batches. `position_0_sources` makes
    the latents and errors at position 0 sources (circuit-tracer zeroes them: the first position
    is an attention sink whose activations are outliers). `token_vectors` is one of TOKEN_VECTORS.
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

    def __post_init__(self) -> None:
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
        """The settings that shape the unpruned graph (all but the pruning thresholds)."""
        return {k: v for k, v in asdict(self).items() if k not in ("node_threshold", "edge_threshold")}
