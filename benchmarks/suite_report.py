"""Printing a record of ``benchmarks/run.py``: the table, the paired ratios, the notes, the machine line.

Kept apart from ``run.py`` so that ``run.py --show`` and the suite share one printer. A variant this
CPU cannot run (``"supported": False``, see :mod:`methods.core.cpu`) prints its reason in the
throughput column instead of figures.
"""

from __future__ import annotations

LOW_SHARE = 0.8  # rows whose process got less CPU than this share of its threads are starred


def table(rows: list[dict], tablefmt: str = "simple") -> str:
    """The rows as one table; a fraction of peak names its path unless it is the usual ``onednn_fp32``."""
    from tabulate import tabulate

    def fmt(value, spec):
        return "" if value is None else format(value, spec)

    def throughput(r):
        return f"{r['throughput']:.4g} {r['unit']}" if r.get("supported", True) else r["reason"]

    body = [[r["section"], r["variant"], fmt(r.get("ms"), ".2f"), throughput(r),
             fmt(r.get("gflops"), ".1f"),
             fmt(r.get("peak_fraction"), ".1%") + (f" of {r['peak_path']}" if r.get("peak_path", "onednn_fp32")
                                                   != "onednn_fp32" else ""),
             fmt(r.get("time_ratio"), ".3g") + (f" ({r['ref']})" if r.get("ref") else ""),
             fmt(r.get("peak_rss_mib"), ".0f"),
             fmt(r.get("cpu_share"), ".2f") + ("*" if r.get("cpu_share", 1) < LOW_SHARE else "")] for r in rows]
    return tabulate(body, headers=["study", "variant", "ms/call", "throughput", "GFLOP/s", "of fp32 peak",
                                   "time / time of (ref)", "peak RSS MiB", "CPU share"], disable_numparse=True,
                    tablefmt=tablefmt)


def report(record: dict, tablefmt: str = "simple") -> None:
    """Print the table, the paired ratios and the machine line of a suite record."""
    rows = [r for s in record["sections"].values() for r in s["rows"]]
    print(table(rows, tablefmt))
    if any(r.get("cpu_share", 1) < LOW_SHARE for r in rows):
        print(f"* CPU share below {LOW_SHARE}: another program was using these cores; such rows time the machine's "
              "load more than this code")
    print()
    for name, section in record["sections"].items():
        for label, value in section.get("ratios", {}).items():
            print(f"{name}: {label}: {value:.3g}")
        for note in section.get("notes", []):
            print(f"{name}: NOTE {note}")
    m = record["machine"]
    print(f"\n{m['cpu']}, {m['cores']} cores, torch {m['torch']} with {m['torch_threads']} threads, "
          f"commit {m['commit'][:10]}"
          f"{' (+%d uncommitted files)' % m['dirty_files'] if m['dirty_files'] else ''}, {m['date']}; "
          f"load average {m['load_average_start'][0]:.2f} at the start (this run adds its own threads), "
          f"lowest CPU share {record['min_cpu_share'] or 0:.2f}"
          f"{' -- LOADED MACHINE: compare ratios, not absolute times' if record['loaded_machine'] else ''}; "
          f"{record['seconds']:.0f} s")
    capabilities = m.get("capabilities")
    if capabilities:
        print(f"bf16 oneDNN product: {capabilities['bf16_matmul']['note']}; "
              f"int8: {capabilities['int8_engine']['note']}")
