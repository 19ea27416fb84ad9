"""How busy a workflow run kept the cores: job intervals read back from Snakemake's own log.

    python benchmarks/concurrency.py [.snakemake/log/<run>.log] [--top 10]

Snakemake logs a timestamp before each job it starts (``Job N: <message>``) and before each
``Finished jobid: N``. From those this computes, second by second, how many jobs ran at once, and
which jobs ran alone. With the rules' thread reservations (``methods/core/threads.py``) at most
two 1-thread jobs, or one 2-thread job, run at once on 2 cores, so a second with one 1-thread job
is a second with an idle core: the part of the wall time the jobs' own CPU seconds do not explain.
Timestamps have a resolution of one second, so jobs shorter than that count as zero.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import re
from pathlib import Path

_STAMP = re.compile(r"^\[(\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4})\]")
_START = re.compile(r"^Job (\d+): (.+)$")
_END = re.compile(r"^Finished jobid: (\d+)")


def job_intervals(lines) -> dict[int, tuple[float, float, str]]:
    """Job id -> (start s, end s, message), seconds from the first job's start; unfinished jobs left out."""
    stamp, starts, ends = None, {}, {}
    for line in lines:
        if match := _STAMP.match(line):
            stamp = datetime.datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
        elif stamp and (match := _START.match(line)):
            starts[int(match.group(1))] = (stamp, match.group(2).strip())
        elif stamp and (match := _END.match(line)):
            ends[int(match.group(1))] = stamp
    if not starts:
        return {}
    origin = min(stamp for stamp, _ in starts.values())
    return {job: ((start - origin).total_seconds(), (ends[job] - origin).total_seconds(), message)
            for job, (start, message) in starts.items() if job in ends}


def _kind(message: str) -> str:
    """'evaluate quantization/fashion_mnist/ptq/all seed 0' -> 'evaluate quantization/ptq'."""
    stage, _, rest = message.partition(" ")
    parts = rest.split()[0].split("/") if rest else []
    return f"{stage} {parts[0]}/{parts[2]}" if len(parts) >= 3 else stage


def utilisation(intervals: dict[int, tuple[float, float, str]]) -> dict:
    """Seconds with n jobs running, and the seconds each kind of job ran alone."""
    running = collections.defaultdict(list)
    for job, (start, end, _) in intervals.items():
        for second in range(int(start), int(end)):
            running[second].append(job)
    span = int(max((end for _, end, _ in intervals.values()), default=0))
    by_count = collections.Counter(len(running.get(second, ())) for second in range(span))
    alone = collections.Counter(_kind(intervals[jobs[0]][2]) for jobs in running.values() if len(jobs) == 1)
    return {"span_s": span, "seconds_by_jobs_running": dict(sorted(by_count.items())),
            "alone_s": dict(alone.most_common())}


def latest_log(root: Path) -> Path:
    logs = sorted((root / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        raise SystemExit(f"no Snakemake log under {root / '.snakemake' / 'log'}")
    return logs[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", nargs="?", help="a Snakemake log (default: the newest in .snakemake/log)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    path = Path(args.log) if args.log else latest_log(Path(__file__).resolve().parents[1])
    result = utilisation(job_intervals(path.read_text().splitlines()))
    print(f"{path}: {result['span_s']} s from the first job's start to the last job's end")
    for count, seconds in result["seconds_by_jobs_running"].items():
        print(f"  {count} job(s) running: {seconds} s ({100 * seconds / max(result['span_s'], 1):.0f}%)")
    print(f"jobs that ran alone (top {args.top}):")
    for kind, seconds in list(result["alone_s"].items())[:args.top]:
        print(f"  {seconds:6d} s  {kind}")


if __name__ == "__main__":
    main()
