"""The planted-circuit model: a transformer whose circuit is known, because it was set by hand.

"Fact: the capital of the state containing Dallas is" -> " Austin", two-hop recall as in the
Dallas example of the Circuit Tracing work, built into a 2-layer TransformerLens model and one
SAELens transcoder per layer by setting weights, not by training, so that a computed attribution
graph can be checked against the mechanism it must find (docs/planted-circuit.md walks through
it). `build(directory)` writes the model in the local format of `load_model` (`model/`), its
transcoders in SAELens' format (`transcoders/layer_<L>/`, read by `load_transcoders`),
`planted.json` (the ground truth, see `description`) and `prompts.txt` (the planted prompts, one a
line, for `circuitstore ingest --prompts`). The same call writes the same bytes. `cached()` is one
build in the user cache directory: what `load_model("planted")` and `load_transcoders("planted")`
read. Graphs of it record the model MODEL_NAME and the transcoder set TRANSCODER_SET, both naming
VERSION, which changes whenever the construction does.

The residual stream (D_MODEL = 96) is a standard basis of named directions (`Layout`): one per
token (its id is its index), `common`, and concept directions (`state:Texas`, `moved
state:Texas`, `capital`, `moved capital`, `say:Austin`, `junk:*`). Directions are exactly
orthogonal, so an edge that must be zero is exactly zero. "State" stands for the country where
the fact is about one (Shanghai, China, Beijing).

- Embeddings: a word is its token direction plus COMMON (10) times `common`; BOS is its own
  direction only. Positional embeddings are zero: attention works by content, so a token node
  writes its embedding whether it is taken as W_E or as W_E + W_pos.
- Layer 0 attention: off (all weights zero).
- Layer 0 MLP: per fact two state features read the city (" Dallas") and write `state:Texas`
  there; two capital features read " capital" and write `capital`; three weak context features
  read the template's function words and write a little `capital`; four distractors fire on the
  prompts and write junk directions that nothing reads.
- Layer 1 attention: head 0 takes `state:*` from the city to " is" (query: the " is" token; key:
  any city); head 1 takes `capital` to " is", from " capital" mostly and a little from every
  other word, which is how the context features matter, weakly. Every other position attends to
  BOS (the sink; BOS carries nothing either head moves). The heads write the moved copies,
  `moved state:*` and `moved capital`, which only the last position holds.
- Layer 1 MLP: per fact two say features read `moved state:Texas` and `moved capital` at " is"
  (the bias lets neither fire on one of the two alone, so the other facts' say features stay
  off) and write `say:Austin`, the unembedding direction of " Austin"; three distractors.
- Remainder: neurons of the true MLPs that the transcoders lack, so error nodes are not zero: in
  layer 0 one per city writing more of its state and one on " capital" writing more `capital`,
  in layer 1 one writing every capital's say direction, and in both one on every word writing
  junk.
- Norms: RMSNorm with unit weights before attention, before each MLP and before the unembedding.
  The common part dominates every word's residual, so norm scales barely change when a feature
  is switched off: the real model stays close to the frozen-norm replacement model.

Nothing reads the BOS direction but the sink keys: no latent fires at position 0 and the errors
there are zero, so graphs are the same whether position 0 is attributed or left out.

The transcoders (JumpReLU, reading `blocks.L.ln2.hook_normalized`, writing
`blocks.L.hook_mlp_out`) hold one latent per non-remainder neuron, with that neuron's weights and
index, padded with dead latents to D_SAE. Neurons sit at permuted indices (a fixed affine map),
so a latent's index says nothing of its role.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path

import torch
from sae_lens import JumpReLUTranscoder, JumpReLUTranscoderConfig
from sae_lens.saes.sae import SAEMetadata
from transformer_lens import HookedTransformer, HookedTransformerConfig

from circuitstore.compute.errors import ComputeError
from circuitstore.compute.gguf import cache_dir
from circuitstore.compute.models import save_model
from circuitstore.compute.tokenizer import SPECIALS, split_words, word_tokenizer

VERSION = 1
MODEL_NAME = f"planted-capitals-v{VERSION}"
TRANSCODER_SET = f"{MODEL_NAME}-transcoders"


@dataclass(frozen=True)
class Fact:
    """A two-hop fact: `city` lies in `state` (or country), whose capital is `capital`."""

    city: str
    state: str
    capital: str
    kind: str  # what the templates call the state: "state" or "country"


FACTS = (
    Fact("Dallas", "Texas", "Austin", "state"),
    Fact("Oakland", "California", "Sacramento", "state"),
    Fact("Miami", "Florida", "Tallahassee", "state"),
    Fact("Chicago", "Illinois", "Springfield", "state"),
    Fact("Shanghai", "China", "Beijing", "country"),
    Fact("Toronto", "Canada", "Ottawa", "country"),
)
# Each holds the city and " capital" once, and " is" once, last.
TEMPLATES = (
    "Fact: the capital of the {kind} containing {city} is",
    "Fact: {city} lies in a {kind} whose capital is",
    "Fact: the {kind} containing {city} has a capital, which is",
)
CAPITAL_WORD, QUERY_WORD = " capital", " is"
# The function words each context feature reads; the city, the state word, " capital" and " is"
# start no context.
CONTEXT_WORDS = {
    "frame": ("Fact", ":"),
    "relation": (" of", " containing", " lies", " in", " whose", " has", " which"),
    "article": (" the", " a", ","),
}

D_MODEL, D_HEAD, N_HEADS, N_CTX = 96, 8, 2, 16
D_SAE = 32  # latents per transcoder
D_MLP = 40  # neurons per MLP: the D_SAE that latents mirror, then the remainder
PERMUTE = (13, 5, 11)  # the i-th live neuron of a layer sits at (13 * i + 5 + 11 * layer) mod D_SAE
THRESHOLD = 0.1  # every latent's JumpReLU threshold; live pre-activations are far from it
COMMON = 10.0  # the common part of a word's embedding, in units of its token direction
BOS_SCALE = 5.0
# What one raw unit of a direction reads as after RMSNorm on a word's residual (sqrt(d_model) /
# |embedding|). Reading weights are given per raw unit and divided by it when set.
UNIT = math.sqrt(D_MODEL / (1 + COMMON**2))
# Attention scores at " is" (before softmax): head 0 on a city, and on BOS, which every other
# position attends to; head 1 on every word, plus CAPITAL_BONUS on " capital".
CITY_SCORE, SINK_SCORE = 12.0, 7.0
WORD_SCORE, CAPITAL_BONUS = 3.0, 2.2
STATE_GAIN, CAPITAL_GAIN = 0.42, 0.62  # OV gains of heads 0 and 1, raw units out per raw unit in
LOGIT_SCALE = 4.0  # a capital's logit per raw unit of its say direction
CIRCUIT = ("state", "capital", "say")  # the roles that carry the answer

MODEL_DIR, TRANSCODERS_DIR, PLANTED_FILE, PROMPTS_FILE = "model", "transcoders", "planted.json", "prompts.txt"


class Layout:
    """Named residual directions, each a standard basis vector: token directions first (index =
    token id), then the others in order of first use."""

    def __init__(self, vocab: list[str]) -> None:
        self.dims = {f"token:{w}": i for i, w in enumerate(vocab)}

    def __getitem__(self, name: str) -> int:
        if name not in self.dims:
            if len(self.dims) == D_MODEL:
                raise ValueError(f"D_MODEL={D_MODEL} leaves no room for direction {name!r}")
            self.dims[name] = len(self.dims)
        return self.dims[name]


@dataclass(frozen=True)
class Neuron:
    """One MLP neuron and, unless it is remainder, the transcoder latent that mirrors it.

    Its pre-activation is `bias` plus, for each direction d in `reads`, `reads[d]` times d's raw
    component in the (normalised) MLP input; it writes `writes[d]` times its activation along d.
    `fires` says where it is active on the planted prompts, by construction: on the tokens it
    names, on every word ("words"), or at the last position ("last") of prompts holding one of
    the tokens in `given`.
    """

    name: str
    layer: int
    role: str  # state, capital, say (the circuit), context, distractor or remainder
    concept: str
    reads: dict[str, float]
    bias: float
    writes: dict[str, float]
    fires: tuple[str, ...] | str
    given: tuple[str, ...] = ()

    def positions(self, texts: list[str]) -> list[int]:
        """Where it fires on a planted prompt of these token texts (BOS first)."""
        if self.fires == "words":
            return list(range(1, len(texts)))
        if self.fires == "last":
            return [len(texts) - 1] if any(t in self.given for t in texts) else []
        return [p for p, t in enumerate(texts) if t in self.fires]


def prompts() -> list[tuple[str, int, Fact]]:
    """Every planted prompt as (text, template index, fact), template by template."""
    return [(t.format(kind=f.kind, city=f.city), i, f) for i, t in enumerate(TEMPLATES) for f in FACTS]


def vocabulary() -> list[str]:
    """The token texts by id: the specials, every word of the prompts in order of first use, then
    the states and the capitals, each spelled as it decodes (" Dallas")."""
    texts = [text for text, _, _ in prompts()] + [f" {f.state}" for f in FACTS] + [f" {f.capital}" for f in FACTS]
    return list(dict.fromkeys([*SPECIALS, *(w for text in texts for w in split_words(text))]))


def neurons() -> list[Neuron]:
    """Every neuron of both MLPs; latents are numbered in this order within a layer."""
    cities = tuple(f" {f.city}" for f in FACTS)
    kinds = tuple(sorted({f" {f.kind}" for f in FACTS}))
    every_word = {"common": 1 / COMMON}  # reads 1.0 on every word, 0 on BOS
    capital = f"token:{CAPITAL_WORD}"
    out = []
    for f in FACTS:
        city, state = f" {f.city}", {f"state:{f.state}": 1.0}
        out += [
            Neuron(f"{f.state} (a)", 0, "state", f.state, {f"token:{city}": 1.5}, -0.5, state, (city,)),
            Neuron(
                f"{f.state} (b)",
                0,
                "state",
                f.state,
                {f"token:{city}": 1.3, f"token: {f.state}": 1.3},
                -0.4,
                state,
                (city, f" {f.state}"),
            ),
        ]
    out += [
        Neuron("capital (a)", 0, "capital", "capital", {capital: 1.5}, -0.5, {"capital": 1.0}, (CAPITAL_WORD,)),
        Neuron("capital (b)", 0, "capital", "capital", {capital: 1.3}, -0.4, {"capital": 1.0}, (CAPITAL_WORD,)),
    ]
    out += [
        Neuron(
            f"context: {group}",
            0,
            "context",
            "context",
            {f"token:{w}": 1.0 for w in words},
            -0.5,
            {"capital": 2.6},
            words,
        )
        for group, words in CONTEXT_WORDS.items()
    ]
    out += [
        Neuron("Fact token", 0, "distractor", "Fact", {"token:Fact": 1.5}, -0.5, {"junk:Fact token": 1.0}, ("Fact",)),
        Neuron(
            "city name",
            0,
            "distractor",
            "city",
            {f"token:{c}": 1.5 for c in cities},
            -0.5,
            {"junk:city name": 1.0},
            cities,
        ),
        Neuron(
            "state word",
            0,
            "distractor",
            "state word",
            {f"token:{k}": 1.5 for k in kinds},
            -0.5,
            {"junk:state word": 1.0},
            kinds,
        ),
        Neuron(
            "article",
            0,
            "distractor",
            "article",
            {"token: the": 1.5, "token: a": 1.5},
            -0.5,
            {"junk:article": 1.0},
            (" the", " a"),
        ),
    ]
    out += [
        Neuron(
            f"remainder {f.city}",
            0,
            "remainder",
            f.state,
            {f"token: {f.city}": 1.0},
            -0.5,
            {f"state:{f.state}": 1.1, "junk:remainder 0": 0.2},
            (f" {f.city}",),
        )
        for f in FACTS
    ]
    out += [
        Neuron(
            "remainder capital",
            0,
            "remainder",
            "capital",
            {capital: 1.0},
            -0.5,
            {"capital": 1.0, "junk:remainder 0": 0.2},
            (CAPITAL_WORD,),
        ),
        Neuron("remainder words 0", 0, "remainder", "words", every_word, -0.5, {"junk:remainder 0": 0.2}, "words"),
    ]
    for f in FACTS:
        moved, say, given = f"moved state:{f.state}", {f"say:{f.capital}": 2.0}, (f" {f.city}",)
        concept = f"say {f.capital}"
        out += [
            Neuron(f"{concept} (a)", 1, "say", concept, {moved: 0.75, "moved capital": 1.25}, -1.4, say, "last", given),
            Neuron(f"{concept} (b)", 1, "say", concept, {moved: 0.85, "moved capital": 1.15}, -1.4, say, "last", given),
        ]
    out += [
        Neuron(
            "some state",
            1,
            "distractor",
            "state",
            {f"moved state:{f.state}": 1.0 for f in FACTS},
            -0.5,
            {"junk:some state": 1.0},
            "last",
            cities,
        ),
        Neuron(
            "is token",
            1,
            "distractor",
            "is",
            {f"token:{QUERY_WORD}": 1.5},
            -0.5,
            {"junk:is token": 1.0},
            "last",
            (QUERY_WORD,),
        ),
        Neuron("every word", 1, "distractor", "words", every_word, -0.5, {"junk:every word": 1.0}, "words"),
        Neuron(
            "remainder say a capital",
            1,
            "remainder",
            "say a capital",
            {"moved capital": 1.0},
            -0.5,
            {f"say:{f.capital}": 0.5 for f in FACTS},
            "last",
            (CAPITAL_WORD,),
        ),
        Neuron("remainder words 1", 1, "remainder", "words", every_word, -0.5, {"junk:remainder 1": 0.2}, "words"),
    ]
    return out


def placed(layer: int) -> list[tuple[int, Neuron]]:
    """(neuron index, neuron) of one layer's MLP: the latents' neurons at their (permuted) latent
    index, the remainder from D_SAE on."""
    live = [n for n in neurons() if n.layer == layer and n.role != "remainder"]
    rest = [n for n in neurons() if n.layer == layer and n.role == "remainder"]
    if len(live) > D_SAE or D_SAE + len(rest) > D_MLP:
        raise ValueError(f"layer {layer}: {len(live)} latents and {len(rest)} remainder neurons do not fit")
    a, b, c = PERMUTE
    return [((a * i + b + c * layer) % D_SAE, n) for i, n in enumerate(live)] + [
        (D_SAE + i, n) for i, n in enumerate(rest)
    ]


def config(d_vocab: int) -> HookedTransformerConfig:
    return HookedTransformerConfig(
        model_name=MODEL_NAME,
        n_layers=2,
        d_model=D_MODEL,
        d_head=D_HEAD,
        n_heads=N_HEADS,
        d_mlp=D_MLP,
        d_vocab=d_vocab,
        n_ctx=N_CTX,
        act_fn="relu",
        normalization_type="RMS",
        positional_embedding_type="standard",
        init_weights=False,
    )


@torch.no_grad()
def build_model(tokenizer_dir: Path) -> tuple[HookedTransformer, Layout]:
    """The planted model, its tokenizer saved in `tokenizer_dir`, and its residual layout."""
    vocab = vocabulary()
    layout = Layout(vocab)
    model = HookedTransformer(config(len(vocab)), tokenizer=word_tokenizer(vocab[len(SPECIALS) :], tokenizer_dir))
    for name, p in model.named_parameters():
        p.fill_(1.0 if name.endswith(".w") else 0.0)  # unit RMSNorm weights, everything else from zero

    token = {w: layout[f"token:{w}"] for w in vocab}
    bos, is_, common = token["<bos>"], token[QUERY_WORD], layout["common"]
    model.W_E[:] = torch.eye(len(vocab), D_MODEL)
    model.W_E[:, common] = COMMON
    model.W_E[bos] = 0.0
    model.W_E[bos, bos] = BOS_SCALE

    # Layer 1 attention reads the normalised residual, where a word's unit direction is UNIT
    # long, its common part COMMON * UNIT, and BOS's direction sqrt(d_model).
    attn, scale = model.blocks[1].attn, math.sqrt(D_HEAD)  # TransformerLens divides scores by sqrt(d_head)
    attn.W_Q[0, is_, 0] = scale / UNIT  # head 0: " is" looks for a city ...
    for f in FACTS:
        attn.W_K[0, token[f" {f.city}"], 0] = CITY_SCORE / UNIT
    attn.W_Q[0, common, 1] = scale / (COMMON * UNIT)  # ... every word for BOS
    attn.W_K[0, bos, 1] = SINK_SCORE / math.sqrt(D_MODEL)
    attn.W_Q[1, is_, 0] = scale / UNIT  # head 1: " is" looks for " capital" and any word ...
    attn.W_K[1, token[CAPITAL_WORD], 0] = CAPITAL_BONUS / UNIT
    attn.W_Q[1, is_, 1] = scale / UNIT
    attn.W_K[1, common, 1] = WORD_SCORE / (COMMON * UNIT)
    attn.W_Q[1, common, 2] = scale / (COMMON * UNIT)  # ... every other word for BOS
    attn.W_Q[1, is_, 2] = -scale / UNIT
    attn.W_K[1, bos, 2] = SINK_SCORE / math.sqrt(D_MODEL)
    for i, f in enumerate(FACTS):
        attn.W_V[0, layout[f"state:{f.state}"], i] = 1 / UNIT
        attn.W_O[0, i, layout[f"moved state:{f.state}"]] = STATE_GAIN
    attn.W_V[1, layout["capital"], 0] = 1 / UNIT
    attn.W_O[1, 0, layout["moved capital"]] = CAPITAL_GAIN

    for layer in (0, 1):
        mlp = model.blocks[layer].mlp
        for j, n in placed(layer):
            for d, w in n.reads.items():
                mlp.W_in[layout[d], j] = w / UNIT
            mlp.b_in[j] = n.bias
            for d, w in n.writes.items():
                mlp.W_out[j, layout[d]] = w
    for f in FACTS:
        model.W_U[layout[f"say:{f.capital}"], token[f" {f.capital}"]] = LOGIT_SCALE / UNIT
    return model.eval(), layout


@torch.no_grad()
def build_transcoders(model: HookedTransformer) -> list[JumpReLUTranscoder]:
    """Per layer, a JumpReLU transcoder whose latents are the MLP's first D_SAE neurons (dead
    where no neuron is placed)."""
    out = []
    for layer in range(model.cfg.n_layers):
        meta = SAEMetadata(
            model_name=MODEL_NAME,
            release=TRANSCODER_SET,
            hook_name=f"blocks.{layer}.ln2.hook_normalized",
            hook_name_out=f"blocks.{layer}.hook_mlp_out",
        )
        tc = JumpReLUTranscoder(
            JumpReLUTranscoderConfig(
                d_in=D_MODEL, d_sae=D_SAE, d_out=D_MODEL, apply_b_dec_to_input=False, metadata=meta
            )
        )
        mlp = model.blocks[layer].mlp
        tc.W_enc.copy_(mlp.W_in[:, :D_SAE])
        tc.b_enc.fill_(-1.0)  # dead latents never fire
        tc.W_dec.copy_(mlp.W_out[:D_SAE])
        tc.b_dec.copy_(mlp.b_out)
        tc.threshold.fill_(THRESHOLD)
        for j, _ in placed(layer):
            if j < D_SAE:
                tc.b_enc[j] = mlp.b_in[j]
        out.append(tc.eval())
    return out


def description(model: HookedTransformer, layout: Layout) -> dict:
    """The ground truth that planted.json holds.

    - `model`, `transcoder_set`, `version`: the names graphs of this build record.
    - `directions`: residual direction name -> index.
    - `features`: each live latent's `layer`, `feature` (its index, also the index of the MLP
      neuron it mirrors), `name`, `role`, `concept`, `reads`, `bias` and `writes`; `remainder`:
      the same for the neurons no latent mirrors (by `neuron` index).
    - `supernodes`: concept -> [layer, feature] of the features that carry it (the state,
      capital and say features).
    - `prompts`: per prompt its text, template, fact, token ids and texts, answer (text and token
      id), the positions of the city, " capital" and the last token, and `active`: role ->
      [layer, feature, position] of every latent that fires there, by construction.
    """
    vocab = vocabulary()
    layers = {layer: placed(layer) for layer in (0, 1)}

    def entry(layer: int, index: int, n: Neuron) -> dict:
        return {
            "layer": layer,
            "neuron" if n.role == "remainder" else "feature": index,
            "name": n.name,
            "role": n.role,
            "concept": n.concept,
            "reads": n.reads,
            "bias": n.bias,
            "writes": n.writes,
        }

    features = [entry(layer, j, n) for layer, ns in layers.items() for j, n in ns if n.role != "remainder"]
    supernodes: dict[str, list[list[int]]] = {}
    for e in features:
        if e["role"] in CIRCUIT:
            supernodes.setdefault(e["concept"], []).append([e["layer"], e["feature"]])
    entries = []
    for text, template, fact in prompts():
        ids = model.to_tokens(text)[0].tolist()
        texts = [vocab[t] for t in ids]
        active: dict[str, list[list[int]]] = {}
        for layer, ns in layers.items():
            for j, n in ns:
                if n.role != "remainder":
                    active.setdefault(n.role, []).extend([layer, j, p] for p in n.positions(texts))
        entries.append(
            {
                "prompt": text,
                "template": template,
                "city": fact.city,
                "state": fact.state,
                "capital": fact.capital,
                "kind": fact.kind,
                "tokens": ids,
                "token_texts": texts,
                "answer": f" {fact.capital}",
                "answer_token": vocab.index(f" {fact.capital}"),
                "positions": {
                    "city": texts.index(f" {fact.city}"),
                    "capital": texts.index(CAPITAL_WORD),
                    "last": len(ids) - 1,
                },
                "active": active,
            }
        )
    return {
        "model": MODEL_NAME,
        "transcoder_set": TRANSCODER_SET,
        "version": VERSION,
        "hooks": {"in": "blocks.{layer}.ln2.hook_normalized", "out": "blocks.{layer}.hook_mlp_out"},
        "directions": dict(layout.dims),
        "features": features,
        "remainder": [entry(layer, j, n) for layer, ns in layers.items() for j, n in ns if n.role == "remainder"],
        "supernodes": supernodes,
        "prompts": entries,
    }


@dataclass(frozen=True)
class Built:
    """Where a build lies: `model` for load_model, `transcoders` for load_transcoders."""

    model: Path
    transcoders: Path
    planted: Path
    prompts: Path

    @classmethod
    def at(cls, directory: Path) -> Built:
        return cls(*(directory / name for name in (MODEL_DIR, TRANSCODERS_DIR, PLANTED_FILE, PROMPTS_FILE)))


def build(directory: str | Path) -> Built:
    """Write the model, its transcoders, planted.json and prompts.txt under `directory`,
    replacing what an earlier build left there (anything else in `directory` stays)."""
    directory = Path(directory)
    built = Built.at(directory)
    with _writing(directory):
        directory.mkdir(parents=True, exist_ok=True)
        # Written aside first, so a build that fails leaves the earlier one in place.
        with tempfile.TemporaryDirectory(dir=directory, prefix=".planted-") as tmp:
            for src, dst in zip(astuple(Built.at(_write(Path(tmp)))), astuple(built)):
                if dst.is_dir():
                    shutil.rmtree(dst)
                src.replace(dst)
    return built


def cached() -> Built:
    """The build in the user cache directory, made on first use."""
    home = cache_dir() / MODEL_NAME
    built = Built.at(home)
    if built.planted.is_file():
        return built
    with _writing(home):
        home.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=home.parent, prefix=f".{MODEL_NAME}-") as tmp:
            try:
                _write(Path(tmp) / "build").rename(home)  # the directory appears whole or not at all
            except OSError:
                if not built.planted.is_file():  # else another process built it meanwhile
                    raise
    return built


def _write(directory: Path) -> Path:
    model, layout = build_model(directory / MODEL_DIR)
    save_model(model, directory / MODEL_DIR)
    for layer, tc in enumerate(build_transcoders(model)):
        tc.save_model(directory / TRANSCODERS_DIR / f"layer_{layer}")
    (directory / PLANTED_FILE).write_text(json.dumps(description(model, layout), indent=1) + "\n")
    (directory / PROMPTS_FILE).write_text("".join(f"{text}\n" for text, _, _ in prompts()))
    return directory


@contextmanager
def _writing(directory: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ComputeError(f"cannot write the planted model to {str(directory)!r}: {exc.strerror or exc}") from None
