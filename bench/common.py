"""What every benchmark shares: the machine's description, percentiles, and table printing."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

import numpy as np

__all__ = ["machine", "machine_line", "percentile_ms", "table", "main_of"]


def machine() -> dict:
    """CPU model, core count, memory, GPU (if any) and the Python and FAISS versions."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_gib = None
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    gpu = "none"
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
        gpu = out.stdout.strip() or "none"
    try:  # a device machine may carry only what one benchmark needs
        import faiss
    except ImportError:
        faiss = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "gpu": gpu,
            "faiss_gpus": faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0,
            "python": platform.python_version(), "faiss": faiss.__version__ if faiss else None}


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(seconds) * 1000, q)), 2) if seconds else float("nan")


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain-text table of ``rows`` with the given columns."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]  # no rows: headings
    line = lambda vals: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(vals, widths)))
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def machine_line(m: dict) -> str:
    """The machine in one line, for a benchmark's table heading."""
    return f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU {m['gpu']}"


def main_of(prog: str, doc: str, add_arguments, run, render):
    """A benchmark's entry point: its arguments plus --json, then one JSON object or the rendered table."""

    def main(argv: list[str] | None = None) -> int:
        import argparse
        import json

        p = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
        add_arguments(p)
        p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
        args = p.parse_args(argv)
        report = run(args)
        print(json.dumps(report) if args.json else render(report))
        return 0

    return main
