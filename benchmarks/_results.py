"""Shared by the benchmark scripts: machine description and RESULTS.md section updates."""

from __future__ import annotations

import os
import platform
import re
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nEach section is written by the script named in it. Medians of repeated runs; ratios measured side by side in one process.\n"


def machine(load: bool = False, numpy: bool = False) -> str:
    """Cores, CPU model and Python; with ``load``, the load average now (the cores are shared)."""
    cpu = platform.processor() or platform.machine() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
    if load and hasattr(os, "getloadavg"):
        out = f"{cpu}, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the start), " \
              f"Python {platform.python_version()}"
    if numpy:
        import numpy as np

        out += f", NumPy {np.__version__}"
    return out


def today() -> str:
    return date.today().isoformat()


def write_section(heading: str, body: str, keep_subsections: bool = False) -> None:
    """Replace (or append) the ``## heading`` section of RESULTS.md, leaving the others alone;
    with ``keep_subsections``, the section's ``### `` subsections (written by other scripts,
    :func:`write_subsection`) stay after the new body."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    old = pattern.search(text)
    kept = ""
    if keep_subsections and old:
        sub = re.search(r"^### ", old.group(0), re.M)
        kept = old.group(0)[sub.start():].strip() + "\n\n" if sub else ""
    block = f"## {heading}\n\n{body.strip()}\n\n{kept}"
    text = pattern.sub(lambda _: block, text) if old else text.rstrip() + "\n\n" + block
    RESULTS.write_text(text.rstrip() + "\n")


def kept_subsections(heading: str) -> str:
    """The ``### `` subsections of section ``## heading`` as RESULTS.md holds them now (other
    scripts write them), to be appended when that section is rewritten; "" when none."""
    if not RESULTS.exists():
        return ""
    lines = RESULTS.read_text(encoding="utf-8").split("\n")
    if f"## {heading}" not in lines:
        return ""
    i = lines.index(f"## {heading}")
    j = next((x for x in range(i + 1, len(lines)) if lines[x].startswith("## ")), len(lines))
    k = next((x for x in range(i + 1, j) if lines[x].startswith("### ")), None)
    return "" if k is None else "\n\n" + "\n".join(lines[k:j]).strip()


def write_subsection(section: str, title: str, body: str) -> None:
    """Replace ``### title`` inside ``section`` (a ``## `` line) of RESULTS.md, creating either.

    Other sections and other subsections are left as they are; the file is replaced atomically.
    """
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    lines = text.rstrip("\n").split("\n")
    block = [f"### {title}", "", *body.strip().split("\n"), ""]
    if section not in lines:
        lines += ["", section, ""]
    i = lines.index(section)
    j = next((x for x in range(i + 1, len(lines)) if lines[x].startswith("## ")), len(lines))
    part = lines[i + 1 : j]
    head = f"### {title}"
    if head in part:
        k = part.index(head)
        e = next((x for x in range(k + 1, len(part)) if part[x].startswith("### ")), len(part))
        part = part[:k] + block + part[e:]
    else:
        while part and not part[-1].strip():
            part.pop()
        part += ["", *block]
    if part and part[0].strip():
        part.insert(0, "")
    lines = lines[: i + 1] + part + lines[j:]
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)


def use_cache(folder: str | None, prefix: str):
    """Point TRANSFERKIT_CACHE at ``folder``, or at a fresh temporary one (returned: keep it
    alive for the run, it is deleted when collected)."""
    import tempfile

    if folder:
        os.environ["TRANSFERKIT_CACHE"] = folder
        return None
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    os.environ["TRANSFERKIT_CACHE"] = tmp.name
    return tmp
