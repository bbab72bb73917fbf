"""The interface every kind of transcoder set offers (TranscoderSet), and the rule every kind's
hooks follow. Attribution (replacement.py) and interventions use nothing else of a set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from transformer_lens import HookedTransformer

from circuitstore.compute.errors import ComputeError

# Hooks a transcoder may read: the MLP's input, before or after the pre-MLP norm. Each is
# computed before the MLP, so the transcoder can stand in for it.
INPUT_HOOKS = ("hook_resid_mid", "hook_mlp_in", "ln2.hook_normalized")
OUTPUT_HOOK = "hook_mlp_out"


class TranscoderSet(ABC):
    """A replacement for every MLP of a model: per layer, the hook its latents read
    (`hooks_in`) and the MLP output they write (`hooks_out`), and

    - `encode(layer, x)`: the layer's latent activations for its input x [..., d_model];
    - `encoders(layer, features)`: each latent's encoder row [k, d_model], the direction whose dot
      product with the input (plus a bias) is its pre-activation: how a latent is read;
    - `decoders(layer, features)`: what the latents write per unit of activation, and where:
      (output layer, rows [k, d_model]) for every layer they write to;
    - `bias(layer)`: the constant the set adds to a layer's output (its b_dec);
    - `skip(layer, x)`: a linear skip path's output at a layer for the input x, or None.
    - `output(layer, x, acts)`: what a per-layer set writes at a layer for its input x and that
      layer's activations (interventions); a cross-layer set's output at a layer also depends on
      earlier layers' latents, and it refuses.

    A layer's reconstructed output is then the bias, plus the skip, plus activation times decoder
    row summed over every latent writing there (of that layer, or of earlier ones).
    `kind` is "per-layer" or "cross-layer"; `activation` one of relu, jumprelu, topk (keeping
    `top_k` pre-activations per position); `url` the set's public home, if it has one; `spec` what
    `load_transcoders` loads it from again (None for sets built in Python).
    """

    kind: ClassVar[str]
    name: str
    hooks_in: tuple[str, ...]
    hooks_out: tuple[str, ...]
    activation: str
    url: str | None
    spec: str | None

    @property
    def n_layers(self) -> int:
        return len(self.hooks_in)

    @property
    def top_k(self) -> int | None:
        return None

    @property
    @abstractmethod
    def dtype(self) -> torch.dtype: ...

    @abstractmethod
    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def encoders(self, layer: int, features: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def decoders(self, layer: int, features: torch.Tensor) -> list[tuple[int, torch.Tensor]]: ...

    @abstractmethod
    def bias(self, layer: int) -> torch.Tensor: ...

    @abstractmethod
    def skip(self, layer: int, x: torch.Tensor) -> torch.Tensor | None: ...

    @abstractmethod
    def output(self, layer: int, x: torch.Tensor, acts: torch.Tensor) -> torch.Tensor: ...

    def has_skip(self, layer: int) -> bool:
        return False

    def description(self) -> dict:
        """What a graph records of the set beside its name (generation settings)."""
        out = {"transcoder_kind": self.kind, "activation": self.activation}
        if self.top_k is not None:
            out["top_k"] = self.top_k
        if self.url is not None:
            out["transcoder_url"] = self.url
        return out


def check_hooks(where: str, layer: int, hook_in: str, hook_out: str, model: HookedTransformer) -> None:
    """Layer `layer`'s latents must read one of its MLP inputs and write its MLP output."""
    for hook in (hook_in, hook_out):
        if hook not in model.hook_dict:
            raise ComputeError(f"{where}: the model has no hook {hook!r}")
    if hook_out != f"blocks.{layer}.{OUTPUT_HOOK}":
        raise ComputeError(f"{where}: writes {hook_out!r}; a transcoder must write blocks.{layer}.{OUTPUT_HOOK}")
    if hook_in not in {f"blocks.{layer}.{h}" for h in INPUT_HOOKS}:
        allowed = ", ".join(f"blocks.{layer}.{h}" for h in INPUT_HOOKS)
        raise ComputeError(f"{where}: reads {hook_in!r}; expected one of {allowed}")
    if hook_in.endswith(".hook_mlp_in") and not model.cfg.use_hook_mlp_in:
        # TransformerLens only fires hook_mlp_in when asked to.
        model.set_use_hook_mlp_in(True)
