"""The compute commands (torch is loaded only when one runs): `ingest` computes, prunes and stores
the graphs of prompts, its attribution options taking their defaults from AttributionSettings;
`gradients` stores one prompt's latent gradients between SAEs as a latent-gradients graph;
`demo-model` writes the planted-circuit model."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit, items_bar, say
from circuitstore.settings import (
    DEFAULT_MODEL,
    PLANTED,
    TOKEN_VECTORS,
    AttributionSettings,
    Target,
    default_transcoders,
)
from circuitstore.shard import in_shard, parse_shard

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(AttributionSettings)}


def _setting(name: str, type: Any, help: str) -> Any:
    """An option for the AttributionSettings field `name`, with its default (a flag for a bool)."""
    flag = f"--{name.replace('_', '-')}"
    if type is bool:
        flag = f"{flag}/--no-{flag[2:]}"
    return click.option(flag, name, type=type, default=_DEFAULTS[name], show_default=True, help=help)


@click.command("ingest")
@click.argument("prompts", nargs=-1)
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A text file of prompts, one per line (blank lines skipped).",
)
@click.option(
    "--model",
    help="A TransformerLens model name, a local model directory, a .gguf file, "
    f"gemma-3-270m-gguf (offline, from its PyPI package) or {PLANTED} (offline: the planted-circuit "
    f"model, see demo-model). [default: {DEFAULT_MODEL}]",
)
@click.option(
    "--transcoders",
    help="A named set, RELEASE:ID_TEMPLATE with {layer}, a directory of saved transcoders (SAELens', or "
    "circuit-tracer's layout: cross-layer, Top-K), or a Hugging Face repository OWNER/NAME in circuit-tracer's "
    "layout (e.g. mntss/clt-gemma-2-2b-426k). "
    f"[default: {PLANTED} for --model {PLANTED}, else {default_transcoders(None)}]",
)
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cuda.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float64"]), default="float32", show_default=True)
@_setting("max_feature_nodes", click.IntRange(min=0), "Latents to attribute, most influential on the logits first.")
@_setting("update_interval", click.IntRange(min=1), "With a cap, rank the latents left again every this many batches.")
@_setting("max_n_logits", click.IntRange(min=1), "At most this many logit nodes ...")
@_setting("desired_logit_prob", float, "... or fewer, once their probabilities add up to this.")
@_setting("batch_size", click.IntRange(min=1), "Targets per backward pass.")
@_setting("node_threshold", float, "Keep the nodes holding this share of influence (tokens and logits always).")
@_setting("edge_threshold", float, "Keep the edges holding this share of edge influence.")
@_setting(
    "position_0_sources",
    bool,
    "Option: latents and errors at position 0 are sources too (circuit-tracer, the default, has none there).",
)
@_setting(
    "token_vectors",
    click.Choice(TOKEN_VECTORS),
    "What a token node writes: embed = W_E[token] (circuit-tracer); resid_pre = the first residual "
    "stream, W_E + W_pos on models with learned positions (an option).",
)
@click.option(
    "--target",
    "target_tokens",
    multiple=True,
    help="Attribute to this token's logit (a text of one token) in place of the likely logits; repeatable.",
)
@click.option(
    "--logit-diff",
    nargs=2,
    multiple=True,
    metavar="A B",
    help="Attribute to logit(A) - logit(B) (each a text of one token), weighted |p(A) - p(B)|; repeatable.",
)
@click.option(
    "--target-vector",
    type=click.Path(exists=True, dir_okay=False),
    multiple=True,
    help="Attribute to a direction at the unembedding's input: a JSON file holding d_model numbers, "
    "labelled by the file's name; repeatable. Targets come in this order: --target, --logit-diff, "
    "--target-vector; the first is the graph's target logit.",
)
@click.option(
    "--prompts-per-batch",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="At most this many prompts of one length share backward passes (the graphs are the same). On a CPU "
    "sharing measured slower than one prompt at a time (bench/attribution.py, many-prompts row).",
)
@click.option("--out", type=click.Path(file_okay=False), help="Also write each graph as graph JSON into this folder.")
@click.option(
    "--shard",
    metavar="I/N",
    help="Compute only shard I of N of the prompts (split by each prompt's hash), so N processes or "
    "machines share one list and store into the same server.",
)
@click.pass_context
def ingest_cmd(
    ctx: click.Context,
    prompts: tuple[str, ...],
    prompts_file: str | None,
    model: str | None,
    transcoders: str | None,
    device: str,
    dtype: str,
    out: str | None,
    target_tokens: tuple[str, ...],
    logit_diff: tuple[tuple[str, str], ...],
    target_vector: tuple[str, ...],
    shard: str | None,
    prompts_per_batch: int,
    **settings: Any,
) -> None:
    """Compute, prune and store the attribution graph of each PROMPT.

    With the default settings a graph is the one circuit-tracer computes and prunes for the same
    model, transcoders and prompt (a special token first, no sources at position 0, token nodes
    writing W_E); --position-0-sources and --token-vectors resid_pre are the options, recorded
    on the stored graph, as are chosen targets (--target, --logit-diff, --target-vector) in place
    of the likely logits. A prompt already stored with the same model, transcoders and settings
    is skipped, so an interrupted batch resumes. A prompt that cannot be attributed is reported
    and the rest go on; the exit status is then 1. With --shard I/N, N runs given the same
    prompts (one per GPU or machine, at the same time or not) compute each prompt once between
    them. With --prompts-per-batch N, up to N prompts of one length share backward passes, each
    graph the same as alone."""
    # Everything that can be checked without the model first: loading torch and the model takes
    # seconds, and a usage error should not wait for them.
    texts = list(prompts)
    if prompts_file:
        texts += [line for line in Path(prompts_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise click.UsageError("give PROMPT arguments or --prompts FILE")
    if shard:
        texts = in_shard(texts, parse_shard(shard))
    targets = [Target("token", (t,)) for t in target_tokens]
    targets += [Target("diff", pair) for pair in logit_diff]
    targets += [Target("vector", vector=_vector(path), label=Path(path).stem) for path in target_vector]
    config = AttributionSettings(**settings, targets=tuple(targets))
    driver = store(ctx)

    from circuitstore.compute import load_model, load_transcoders
    from circuitstore.compute.ingest import Outcome, ingest_prompts

    lm = load_model(model or DEFAULT_MODEL, device=device, dtype=dtype)
    tcs = load_transcoders(transcoders or default_transcoders(model), lm, device=device, dtype=dtype)
    with items_bar("ingest", len(texts)) as bar:
        finished_count = 0

        def advance(group: list[int], done: int, total: int) -> None:
            which = ", ".join(str(i + 1) for i in group[:4]) + (", ..." if len(group) > 4 else "")
            label = f"prompt{'s' if len(group) > 1 else ''} {which} of {len(texts)}"
            bar.at(finished_count, done, total, f"{label}: {done}/{total} targets", items=len(group))

        def finished(i: int, outcome: Outcome) -> None:
            nonlocal finished_count
            if outcome.status == "failed":
                say(f"\nerror: prompt {i + 1}/{len(texts)} ({outcome.prompt[:40]!r}): {outcome.error}", err=True)
            finished_count += 1
            bar.finished(finished_count - 1)

        outcomes = ingest_prompts(
            driver,
            lm,
            tcs,
            texts,
            config,
            out_dir=Path(out) if out else None,
            prompts_per_batch=prompts_per_batch,
            progress=advance,
            on_done=finished,
        )
    for outcome in outcomes:
        if outcome.status != "failed":
            say(f"{outcome.status} {outcome.graph_id} {outcome.prompt[:60]!r}")
    counts = {kind: sum(o.status == kind for o in outcomes) for kind in ("stored", "skipped", "failed")}
    click.echo(", ".join(f"{n} {k}" for k, n in counts.items()))
    if counts["failed"]:
        sys.exit(1)


def _vector(path: str) -> list[float]:
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--target-vector") from None
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise click.BadParameter(f"{path} holds no JSON list of numbers", param_hint="--target-vector")
    return values


@click.command("demo-model")
@click.argument("directory", type=click.Path(file_okay=False))
def demo_model_cmd(directory: str) -> None:
    """Write the planted-circuit model into DIRECTORY: a 2-layer model whose circuit is known
    (two-hop recall: Dallas -> Texas -> Austin), its transcoders, planted.json (the ground truth)
    and prompts.txt. Files an earlier run wrote there are replaced. `ingest --model planted`
    computes with the same model, built in the user cache."""
    from circuitstore.compute.planted import CIRCUIT, MODEL_NAME, build

    built = build(directory)
    truth = json.loads(built.planted.read_text(encoding="utf-8"))
    click.echo(f"wrote {MODEL_NAME} to {directory}:")
    for path, what in (
        (built.model, "the model (load_model reads it)"),
        (built.transcoders, "one transcoder per layer, SAELens' format"),
        (built.planted, "the ground truth: what each latent reads and writes, where it fires"),
        (built.prompts, f"the {len(truth['prompts'])} planted prompts"),
    ):
        click.echo(f"  {path.name + ('/' if path.is_dir() else ''):<14} {what}")
    click.echo("the latents of the circuit (Latent nodes L<layer>/<feature>@<position>):")
    emit(
        (
            {"layer": f["layer"], "feature": f["feature"], "name": f["name"], "role": f["role"]}
            for f in truth["features"]
            if f["role"] in CIRCUIT
        ),
        as_json=False,
    )
    click.echo(f"compute their graphs: circuitstore ingest --model {PLANTED} --prompts {built.prompts}")


@click.command("gradients")
@click.argument("prompt")
@click.option("--model", required=True, help="A TransformerLens model name, a local model directory or a .gguf file.")
@click.option(
    "--saes",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="A directory of SAELens saves (residual-stream or hook_z SAEs, or transcoders), one per layer.",
)
@click.option("--top-logits", type=click.IntRange(min=1), default=5, show_default=True, help="Logits to explain.")
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cuda.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the graph as graph JSON to this file.")
@click.pass_context
def gradients_cmd(
    ctx: click.Context, prompt: str, model: str, saes: str, top_logits: int, device: str, out: str | None
) -> None:
    """Store PROMPT's latent gradients (token-to-latent, latent-to-latent, latent-to-logit) between
    the SAEs in --saes as a graph of kind latent-gradients, and print its id."""
    from circuitstore.compute import load_model
    from circuitstore.compute.gradients import gradient_graph, load_dictionaries
    from circuitstore.formats import write_graph
    from circuitstore.store import store_graph

    lm = load_model(model, device=device)
    graph = gradient_graph(lm, load_dictionaries(saes, lm, device=device), prompt, top_logits=top_logits)
    outcome = store_graph(store(ctx), graph, replace=True)
    if out:
        write_graph(graph, Path(out))
    click.echo(f"{outcome} {graph.meta.id} ({graph.n_nodes} nodes, {graph.n_edges} edges)")


COMMANDS = (ingest_cmd, gradients_cmd, demo_model_cmd)
