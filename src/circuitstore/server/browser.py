"""circuitstore in Neo4j Browser: the style sheet (circuitstore.grass) and the guide to the query
library, served by the local server itself, and the commands that apply them at login.

Browser's HTTP module serves the `browser/` folder of the first classpath entry holding one, so
the assets go into a copy of the Browser jar under `browser/circuitstore/` (an extra folder on
the classpath would be ignored, or would hide Browser). The copy is built once per content,
into the jar cache. neo4j.conf's `browser.post_connect_cmd` then runs `style URL; play URL;
config autoComplete: false` after login: the last stops Browser from drawing every relationship
among the answer's nodes (the all-connected hairball).

The style: one colour per node kind (Browser would otherwise colour by the alphabetically first
label, `Node`, in the order it met the kinds), captions from each node's `name`, edges captioned
by weight; the drawable queries' EXCITES_1..4 / INHIBITS_1..4 edges blue or red, thicker when
stronger (GraSS has no property selectors). GraSS drops any value holding a colon.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from circuitstore.queries import QueryInfo, list_queries
from circuitstore.server import jars

ASSETS = "browser/circuitstore"
STYLE = f"/{ASSETS}/circuitstore.grass"
GUIDE = f"/{ASSETS}/guide.html"


def style_text() -> str:
    return (resources.files("circuitstore.server") / "circuitstore.grass").read_text(encoding="utf-8")


def kind_colours() -> dict[str, str]:
    """{kind label: fill colour} as the style sheet gives them (also for `circuitstore draw`)."""
    return dict(re.findall(r"node\.(\w+) \{[^}]*?(?<![-\w])color: (#[0-9A-Fa-f]{6});", style_text()))


def _body(text: str) -> str:
    """A query's text without its leading `//` header (the guide says what it is)."""
    lines = text.splitlines()
    while lines and lines[0].startswith("//"):
        lines.pop(0)
    return "\n".join(lines)


def guide_text(query: QueryInfo) -> str:
    """The Cypher a guide slide runs for `query`: its drawable variant where it has one."""
    return _body(query.draw or query.text)


def guide_html() -> str:
    """The `:play` guide: an index, then one slide per query with its example's `:param` line and
    the query, each runnable (Browser puts a run icon before every `pre.runnable`)."""
    queries = list_queries()
    index = "\n".join(f"<li><b>{html.escape(q.name)}</b>: {html.escape(q.purpose)}</li>" for q in queries)
    slides = [
        f"""<slide class="row-fluid"><div class="col-sm-12">
<h3>circuitstore: the query library</h3>
<p class="lead">One slide per question. On each, run the parameters first (the &#9654; icon
before a block runs it; clicking the block copies it into the editor), then the query.
Subgraph answers are drawn: stronger edges thicker, blue excites, red inhibits.</p>
<ul>{index}</ul>
</div></slide>"""
    ]
    for q in queries:
        drawn = f" Drawn as a graph; <code>circuitstore query {html.escape(q.name)}</code> gives the table."
        slides.append(
            f"""<slide class="row-fluid"><div class="col-sm-12">
<h3>{html.escape(q.name)}</h3>
<p>{html.escape(q.purpose)}{drawn if q.draw else ""}</p>
<pre class="runnable">{html.escape(q.example)}</pre>
<pre class="runnable pre-scrollable">{html.escape(guide_text(q))}</pre>
</div></slide>"""
        )
    return (
        '<article class="guide"><carousel class="deck container-fluid">\n'
        + "\n".join(slides)
        + "\n</carousel></article>\n"
    )


def post_connect_cmd(base_url: str) -> str:
    """neo4j.conf's browser.post_connect_cmd: Browser splits it on `;` and prefixes each with `:`."""
    return f"style {base_url}{STYLE}; play {base_url}{GUIDE}; config autoComplete: false"


def with_assets(browser_dir: Path) -> Path:
    """A folder holding the Browser jar with circuitstore's assets added, built once per content."""
    source = next(browser_dir.glob("neo4j-browser-*.jar"))
    assets = {f"{ASSETS}/circuitstore.grass": style_text(), f"{ASSETS}/guide.html": guide_html()}
    digest = hashlib.sha256(source.name.encode())
    for name, text in sorted(assets.items()):
        digest.update(f"\0{name}\0{text}".encode())
    target = jars.cache_dir() / f"{browser_dir.name}-circuitstore-{digest.hexdigest()[:12]}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".browser-circuitstore-") as tmp:
        folder = Path(tmp) / "jars"
        folder.mkdir()
        jar = folder / source.name
        shutil.copyfile(source, jar)
        with zipfile.ZipFile(jar, "a", compression=zipfile.ZIP_DEFLATED) as z:
            for name, text in assets.items():
                z.writestr(name, text)
        jars.publish(folder, target)
    return target
