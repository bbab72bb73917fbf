"""A virtual environment that runs circuit-tracer (its TransformerLens backend), built from a
source tree and cached under .state/circuit-tracer/.

    python_for(source_tree) -> Path of that environment's python   (raises Unavailable)

circuit-tracer pins transformers <= 4.57.3 and gets transformer-lens 3.2.1 from pip, so it
cannot share this project's environment. The one built here:
- takes torch from the running environment: torch and everything it requires (triton, the
  CUDA wheels, ...) are hard-linked file by file from each distribution's RECORD, so pip sees
  them installed and ~5 GB are neither downloaded nor copied;
- installs the source tree without dependencies, then transformer-lens (the version pip resolves
  for circuit-tracer's pins) without its own, and only what importing both needs: circuit-
  tracer's requirements but the notebook, plotting and nnsight ones its TransformerLens path
  never imports, plus pyyaml (imported, undeclared), plus the modules `import transformer_lens`
  needs, at transformer-lens' own pins. PyPI only: the comparison runs on local weights.
The cache key is the source tree's content and this file's, so editing either rebuilds it. A
build takes about a minute and a half.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CACHE = Path(__file__).resolve().parents[2] / ".state" / "circuit-tracer"
# Requirements circuit-tracer's TransformerLens path never imports (IPython only in its demo
# utilities, nnsight only in the nnsight backend, seaborn and ipywidgets nowhere).
UNUSED = {"ipykernel", "ipywidgets", "seaborn", "nnsight"}
EXTRA = ["pyyaml"]  # imported by circuit_tracer.utils.hf_utils, not declared
# What `import transformer_lens` needs beyond circuit-tracer's requirements.
TL_IMPORTS = ["better-abc", "jaxtyping", "rich", "datasets", "typeguard"]
SMOKE = (
    "import circuit_tracer.attribution.attribute, circuit_tracer.graph, circuit_tracer.utils.create_graph_files, "
    "circuit_tracer.replacement_model.replacement_model_transformerlens, "
    "circuit_tracer.transcoder.single_layer_transcoder"
)


class Unavailable(Exception):
    """circuit-tracer's environment cannot be built here; the message says why."""


def python_for(source: Path) -> Path:
    """The python of an environment running circuit-tracer from `source`, built if need be."""
    if not (source / "pyproject.toml").is_file() or not (source / "circuit_tracer").is_dir():
        raise Unavailable(f"{source} is not a circuit-tracer source tree (no pyproject.toml and circuit_tracer/)")
    home = CACHE / _key(source)
    python = home / "venv" / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others wait and reuse it
        if not (home / "ready.json").is_file():
            shutil.rmtree(home, ignore_errors=True)
            _build(source, home / "venv")
            (home / "ready.json").write_text(json.dumps({"source": str(source), "packages": _freeze(python)}))
    return python


def _key(source: Path) -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(sys.version.encode())
    for path in sorted([source / "pyproject.toml", *(source / "circuit_tracer").rglob("*.py")]):
        h.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _build(source: Path, venv: Path) -> None:
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    target = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    _link_torch(Path(sysconfig.get_paths()["purelib"]), target)
    pin_torch = f"torch=={md.version('torch')}"  # keeps pip from replacing the linked torch
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run([*pip, "install", "--no-deps", str(source)])
    declared = tomllib.loads((source / "pyproject.toml").read_text())["project"]["dependencies"]
    report = venv / "resolve.json"
    _run([*pip, "install", "--dry-run", "--report", str(report), *declared, pin_torch])
    resolved = json.loads(report.read_text())["install"]
    chosen = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in resolved}
    _run([*pip, "install", "--no-deps", f"transformer-lens=={chosen['transformer-lens']}"])
    wanted = [d for d in declared if canonicalize_name(Requirement(d).name) not in UNUSED | {"transformer-lens"}]
    names = {canonicalize_name(Requirement(d).name) for d in [*wanted, *EXTRA, *TL_IMPORTS]}
    tl_requires = _run(
        [str(python), "-c", "import importlib.metadata as m, json; print(json.dumps(m.requires('transformer-lens')))"]
    )
    pins = [
        f"{req.name}{req.specifier}"
        for req in map(Requirement, json.loads(tl_requires) or [])
        if canonicalize_name(req.name) in names and (req.marker is None or req.marker.evaluate({"extra": ""}))
    ]
    _run([*pip, "install", *wanted, *EXTRA, *TL_IMPORTS, *pins, pin_torch])
    _run([str(python), "-c", SMOKE], env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _link_torch(source_site: Path, target_site: Path) -> None:
    """Hard-link (copy across file systems) torch and every distribution it requires, extras
    followed (torch needs cuda-toolkit[cudart, ...]), from this environment into the new one."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [("torch", frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        if (canonicalize_name(name), extras) in seen:
            continue
        seen.add((canonicalize_name(name), extras))
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        if canonicalize_name(name) in {"pip", "setuptools", "wheel"}:
            continue
        for file in dist.files or []:
            src, dst = source_site / file, target_site / file
            # Console scripts live outside site-packages and name this environment's python.
            if str(file).startswith("..") or not src.is_file() or dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((req.name, frozenset(req.extras)))


def _freeze(python: Path) -> list[str]:
    return _run([str(python), "-m", "pip", "--disable-pip-version-check", "freeze", "--all"]).split()


def _run(cmd: list[str], **kwargs) -> str:
    done = subprocess.run(cmd, text=True, capture_output=True, **kwargs)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise Unavailable(f"`{' '.join(cmd[:4])} ...` failed: {' / '.join(tail)}")
    return done.stdout
