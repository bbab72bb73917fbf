"""The local server's jars: resolved from Maven Central once, kept in a cache directory.

Each of the three parts (server, Browser, APOC) has its own pom, so their dependency trees never
mediate each other's versions. A part lands in `<cache>/<pom name>-<version>-<pom hash>/` (a
changed pom resolves afresh), written to a temporary folder first and renamed, so a
half-finished download never looks complete. A pom whose dependency plugin declares executions
(APOC's: `plugins` and `lib`) is resolved by running each into its own subfolder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from circuitstore.errors import CircuitstoreError

PARTS = ("neo4j", "browser", "apoc")
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def cache_dir() -> Path:
    """Where jars are kept: $CIRCUITSTORE_CACHE, else the user's cache directory."""
    env = os.environ.get("CIRCUITSTORE_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("circuitstore")) / "jars"


def version(part: str) -> str:
    """The artifact version a part's pom pins (its one property)."""
    root = ET.fromstring(_pom(part).read_bytes())
    prop = root.find("m:properties", _POM_NS)
    return next(iter(prop)).text.strip()


def _pom(part: str):
    return resources.files("circuitstore.server") / f"{part}.pom.xml"


@dataclass(frozen=True)
class Jars:
    """Folders of resolved jars: the server's lib, Browser, the plugin directory (APOC's two
    jars, which Neo4j scans for procedures) and the plugins' libraries (never scanned)."""

    lib: Path
    browser: Path
    plugins: Path
    plugin_libs: Path

    @property
    def classpath(self) -> str:
        # Plugins must be on the classpath too: Neo4j finds extension factories (APOC's config
        # component) through the classpath's service files, not through the plugin directory.
        return os.pathsep.join(str(d / "*") for d in (self.lib, self.browser, self.plugin_libs, self.plugins))


def resolve() -> Jars:
    """Resolve every missing part with Maven; return the jar folders."""
    lib, browser, apoc = (_resolve_part(part) for part in PARTS)
    return Jars(lib, browser, apoc / "plugins", apoc / "lib")


def _executions(part: str) -> list[str]:
    root = ET.fromstring(_pom(part).read_bytes())
    return [e.text.strip() for e in root.iterfind(".//m:execution/m:id", _POM_NS)]


def _resolve_part(part: str) -> Path:
    digest = hashlib.sha256(_pom(part).read_bytes()).hexdigest()[:8]
    target = cache_dir() / f"{part}-{version(part)}-{digest}"
    if target.is_dir():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise CircuitstoreError(
            "Maven (mvn) is needed once to download the Neo4j jars and was not found on PATH; "
            "install it (e.g. apt install maven) or point NEO4J_URI at another Neo4j"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{part}-") as tmp:
        out = Path(tmp) / "jars"
        executions = _executions(part)
        if executions:
            goals = [f"dependency:copy-dependencies@{e}" for e in executions] + [f"-Dout={out}"]
        else:
            goals = ["dependency:copy-dependencies", f"-DoutputDirectory={out}", "-DincludeScope=runtime"]
        with resources.as_file(_pom(part)) as pom:
            proc = subprocess.run([mvn, "-B", "-q", "-f", str(pom), *goals], capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_dir():
            lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
            detail = lines[0].strip() if lines else f"exit status {proc.returncode}"
            raise CircuitstoreError(f"Maven could not resolve {part} {version(part)}: {detail}")
        publish(out, target)
    return target


def publish(folder: Path, target: Path) -> None:
    """Rename a finished folder into place, so a half-written one never looks complete."""
    try:
        folder.rename(target)
    except OSError:
        if not target.is_dir():  # not a concurrent writer winning the race: a real fault
            raise
