"""The `weights` group: `weights build` computes and stores what a transcoder set's weights say
(de-embeddings, logit lens, virtual weights, pullbacks, automatic labels), torch loaded only when
it runs."""

from __future__ import annotations

import re
import sys

import click

from circuitstore.cli.driver import store
from circuitstore.errors import CircuitstoreError
from circuitstore.settings import DEFAULT_MODEL, DEFAULT_TRANSCODERS

_STEPS_PER_LAYER = 1000
# Each stage's share of a layer on the progress bar (roughly its share of the time).
_STAGES = {"de-embedding": (0.0, 0.4), "logit lens": (0.4, 0.6), "virtual weights": (0.6, 0.8), "storing": (0.8, 1.0)}
_LAYERS = re.compile(r"^\d+(-\d+)?$")


def parse_layers(text: str | None) -> list[int] | None:
    """`0,3,5-7` as [0, 3, 5, 6, 7]; None for all layers."""
    if text is None:
        return None
    layers: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not _LAYERS.match(part):
            raise CircuitstoreError(f"--layers {text!r}: expected layer numbers and ranges, e.g. 0,3,5-7")
        lo, _, hi = part.partition("-")
        first, last = int(lo), int(hi or lo)
        if last < first:
            raise CircuitstoreError(f"--layers {text!r}: the range {part} runs backwards")
        layers.update(range(first, last + 1))
    return sorted(layers)


@click.group("weights")
def weights_group() -> None:
    """What the weights alone say about each feature of a transcoder set (no prompt)."""


@weights_group.command("build")
@click.option(
    "--model",
    help="A TransformerLens model name, a local model directory, a .gguf file, or gemma-3-270m-gguf. "
    f"[default: {DEFAULT_MODEL}]",
)
@click.option(
    "--transcoders",
    help=f"A named set, RELEASE:ID_TEMPLATE with {{layer}}, or a directory of saved transcoders. "
    f"[default: {DEFAULT_TRANSCODERS}]",
)
@click.option("--layers", help="Layers to build, e.g. 0,3,5-7. [default: all]")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True, help="Entries per list and sign.")
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cuda.")
@click.option("--replace", is_flag=True, help="Rebuild layers already stored (e.g. with another --top-k).")
@click.pass_context
def build_cmd(
    ctx: click.Context,
    model: str | None,
    transcoders: str | None,
    layers: str | None,
    top_k: int,
    device: str,
    replace: bool,
) -> None:
    """Compute and store the de-embeddings, logit lens, virtual weights and pullbacks of every
    feature, and an automatic label for each; once per transcoder set, shared by all its graphs.

    Each layer is stored whole or not at all: an interrupted build resumes at the first layer not
    stored, and a layer already stored is skipped."""
    from circuitstore.compute import load_model, load_transcoders
    from circuitstore.compute.weights_build import LayerOutcome, WeightsBuild

    wanted = parse_layers(layers)
    driver = store(ctx)
    lm = load_model(model or DEFAULT_MODEL, device=device)
    tcs = load_transcoders(transcoders or DEFAULT_TRANSCODERS, lm, device=device)
    build = WeightsBuild(driver, lm, tcs, layers=wanted, top_k=top_k, replace=replace)
    order = {layer: i for i, layer in enumerate(build.layers)}
    status = {"text": ""}
    with click.progressbar(
        length=len(build.layers) * _STEPS_PER_LAYER,
        label="weights",
        file=sys.stderr,
        item_show_func=lambda _: status["text"],
    ) as bar:

        def advance(layer: int, stage: str, done: int, n: int) -> None:
            lo, hi = _STAGES[stage]
            status["text"] = f"layer {layer}: {stage} {done}/{n}"
            at = order[layer] * _STEPS_PER_LAYER + int(_STEPS_PER_LAYER * (lo + (hi - lo) * done / max(n, 1)))
            bar.update(max(0, at - bar.pos))

        def finished(outcome: LayerOutcome) -> None:
            bar.update((order[outcome.layer] + 1) * _STEPS_PER_LAYER - bar.pos)

        outcomes = build.run(advance, finished)
    for outcome in outcomes:
        extra = f" ({outcome.relationships} relationships)" if outcome.status == "stored" else ""
        click.echo(f"layer {outcome.layer}: {outcome.status}{extra}")
    counts = {kind: sum(o.status == kind for o in outcomes) for kind in ("stored", "skipped")}
    click.echo(f"{tcs.name}: " + ", ".join(f"{n} layers {k}" for k, n in counts.items()))


COMMANDS = (weights_group,)
