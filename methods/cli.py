"""Entry points the workflow's rules call, one per stage (``effrepro <stage> ...``).

No logic lives here: each command parses its arguments and calls the module that does the work.
Logs go to stderr, which the rules send to their ``log:`` files.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from methods.core.errors import EffreproError


def _fetch(args) -> None:
    from methods.core import jobenv
    from methods.data.fetch import fetch_dataset

    # the workflow passes its config through the environment (methods/core/jobenv.py)
    mirrors = args.mirror + jobenv.config_mirrors()
    fetch_dataset(args.dataset, Path(args.raw_dir), mirrors, args.download or jobenv.download_allowed())


def _prepare(args) -> None:
    from methods.data.registry import get_dataset

    get_dataset(args.dataset).prepare(Path(args.raw_dir), Path(args.out))


def _train(args) -> None:
    from methods.core import runner

    runner.train(json.loads(args.spec), Path(args.run_dir), args.data, args.needs, args.threads, args.gpus)


def _evaluate(args) -> None:
    from methods.core import runner

    runner.evaluate(json.loads(args.spec), Path(args.run_dir), args.data, args.needs, args.threads, args.gpus)


def _train_evaluate(args) -> None:
    from methods.core import runner

    runner.train_and_evaluate(json.loads(args.spec), Path(args.run_dir), args.data, args.needs, args.threads,
                              args.gpus)


def _collect(args) -> None:
    from methods.core.atomic import atomic_path
    from methods.reporting.collect import collect

    frame = collect([Path(p) for p in args.metrics])
    with atomic_path(args.out) as tmp:
        frame.to_parquet(tmp, index=False)


def _table(args) -> None:
    import pandas as pd

    from methods.core import atomic
    from methods.core.study import load_study
    from methods.reporting import paper, render

    study = load_study(args.study)
    spec = study.table(args.table)
    runs = pd.read_parquet(args.runs)
    long = study.summarize(spec, runs, args.scale, paper.load(study.paper_numbers_path(), spec.name))
    prefix = Path(args.out_prefix)
    atomic.write_text(prefix.with_suffix(".csv"), long.to_csv(index=False))
    atomic.write_text(prefix.with_suffix(".md"), render.markdown(long, spec, study.wide))
    atomic.write_text(prefix.with_suffix(".tex"), render.latex(long, spec, study.wide))


def _figure(args) -> None:
    import pandas as pd

    from methods.core.study import load_study
    from methods.reporting.figures import draw

    study = load_study(args.study)
    spec = study.table(args.table)
    figure = next(f for f in spec.figures if f.name == args.figure)
    points = study.figure_points(spec, figure, pd.read_parquet(args.runs)) if figure.from_runs else None
    draw(pd.read_csv(args.csv), figure, spec, Path(args.out), points)


def _claims(args) -> None:
    import pandas as pd

    from methods.core import atomic
    from methods.core.claims_plan import declarations_hash
    from methods.core.errors import ConfigError
    from methods.core.study import load_study
    from methods.reporting.scorecard import evaluate

    study = load_study(args.study)
    declared = declarations_hash(study)
    if declared != args.declared:
        raise ConfigError(f"claims of study '{args.study}'", declared,
                          f"the declarations the workflow planned ({args.declared}); plan again")
    runs = pd.read_parquet(args.runs) if args.runs else None
    frame = evaluate(study, runs, args.scale, json.loads(args.reasons))
    atomic.write_text(args.out, frame.to_csv(index=False))


def _scorecard(args) -> None:
    from methods.core import atomic
    from methods.reporting import scorecard_render as render

    frame = render.read(args.claims)
    prefix = Path(args.out_prefix)
    render.forest(frame, Path(args.figure))
    atomic.write_text(prefix.with_suffix(".md"), render.markdown(frame))
    atomic.write_text(prefix.with_suffix(".tex"), render.latex(frame))
    atomic.write_text(prefix.with_suffix(".csv"), frame.to_csv(index=False))


def _index(args) -> None:
    from methods.core import atomic
    from methods.core.study import load_study
    from methods.reporting.index import index_markdown

    tables = []
    for item in args.tables:
        study_name, table_name = item.split(":")
        spec = load_study(study_name).table(table_name)
        csv = Path(args.out).parent / f"{table_name}.csv"
        tables.append((table_name, spec.title, csv, [f"{table_name}-{f.name}.png" for f in spec.figures]))
    atomic.write_text(args.out, index_markdown(args.scale, tables, args.left_out, args.claims))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="effrepro", description=__doc__)
    sub = top.add_subparsers(dest="stage", required=True)

    p = sub.add_parser("fetch", help="bring a dataset's files into resources/raw/<dataset>/ (verified)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw-dir", required=True)
    p.add_argument("--mirror", action="append", default=[])
    p.add_argument("--download", action="store_true", help="allow upstream downloads")
    p.set_defaults(func=_fetch)

    p = sub.add_parser("prepare", help="turn raw files into resources/prepared/<dataset>.npz")
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw-dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_prepare)

    for name, func in (("train", _train), ("evaluate", _evaluate), ("train-evaluate", _train_evaluate)):
        p = sub.add_parser(name, help=f"{name.replace('-', ' and ')} one run")
        p.add_argument("--spec", required=True, help="the run's spec as JSON")
        p.add_argument("--run-dir", required=True)
        p.add_argument("--data", nargs="*", default=[])
        p.add_argument("--needs", nargs="*", default=[])
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--gpus", type=int, default=0, help="GPUs the job was planned with")
        p.set_defaults(func=func)

    p = sub.add_parser("collect", help="gather a study's metrics.json files into runs.parquet")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_collect)

    p = sub.add_parser("table", help="write reports/<scale>/<table>.{csv,md,tex}")
    p.add_argument("--study", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--scale", required=True)
    p.add_argument("--runs", required=True)
    p.add_argument("--out-prefix", required=True)
    p.set_defaults(func=_table)

    p = sub.add_parser("figure", help="draw one figure of a table from its CSV (and its study's runs)")
    for flag in ("--study", "--table", "--figure", "--csv", "--out"):
        p.add_argument(flag, required=True)
    p.add_argument("--runs", default="", help="the study's runs.parquet (figures drawn from per-run points)")
    p.set_defaults(func=_figure)

    p = sub.add_parser("claims", help="evaluate one study's claims into results/<scale>/<study>/claims.csv")
    p.add_argument("--study", required=True)
    p.add_argument("--scale", required=True)
    p.add_argument("--runs", default="", help="the study's runs.parquet (none when no claim row runs)")
    p.add_argument("--reasons", required=True, help="JSON: row key -> why it is not run ('' when it runs)")
    p.add_argument("--declared", required=True, help="digest of the claim declarations the workflow planned")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_claims)

    p = sub.add_parser("scorecard", help="write reports/<scale>/claims.{csv,md,tex} and the forest plot")
    p.add_argument("--claims", nargs="+", required=True, help="every study's claims.csv")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--figure", required=True)
    p.set_defaults(func=_scorecard)

    p = sub.add_parser("index", help="write reports/<scale>/README.md")
    p.add_argument("--scale", required=True)
    p.add_argument("--tables", nargs="+", required=True, help="study:table pairs")
    p.add_argument("--left-out", nargs="*", default=[])
    p.add_argument("--claims", nargs="*", default=[], help="the scorecard's claims.csv, listed first")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_index)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except EffreproError as error:
        logging.getLogger("effrepro").error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
