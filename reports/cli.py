"""`python -m reports render|compare|history`: exit 0 ok, 1 regression, 2 bad input."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from reports.compare import compare, comparison_markdown
from reports.history import write_history
from reports.junit import JUnitError
from reports.render import render_run
from reports.results import ResultsError, load_results, results_path
from reports.thresholds import ThresholdsError, load_thresholds

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
PROG = "python -m reports"


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (exit 2), without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    main = OneLineParser(prog=PROG, description=__doc__)
    commands = main.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    render = commands.add_parser("render", help="write report.html and summary.md for a run")
    render.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a run directory, or its results.json")
    render.add_argument("--junit", type=Path, metavar="FILE",
                        help="conformance JUnit XML (default: RUN_DIR/conformance.xml if present)")
    gate = commands.add_parser("compare", help="compare a run with a baseline; exit 1 on a "
                               "regression")
    gate.add_argument("baseline", type=Path, metavar="BASELINE", help="run dir or results.json")
    gate.add_argument("current", type=Path, metavar="CURRENT", help="run dir or results.json")
    gate.add_argument("--thresholds", type=Path, metavar="FILE",
                      help="thresholds, .toml or .json (default: built-in, see README)")
    gate.add_argument("--markdown", type=Path, metavar="FILE",
                      help="also append the comparison table to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    history = commands.add_parser("history", help="a trend page across the runs under DIR")
    history.add_argument("directory", type=Path, metavar="DIR")
    history.add_argument("--output", type=Path, metavar="FILE",
                         help="where to write the page (default: DIR/history.html)")
    return main


def run_render(args: argparse.Namespace) -> int:
    html_path, md_path = render_run(args.run_dir, junit=args.junit)
    print(f"report: {html_path}\nsummary: {md_path}")
    return EXIT_OK


def run_compare(args: argparse.Namespace) -> int:
    thresholds = load_thresholds(args.thresholds)
    baseline = load_results(args.baseline)
    current = load_results(args.current)
    comparison = compare(baseline, current, thresholds)
    text = comparison_markdown(comparison, str(results_path(args.baseline)),
                               str(results_path(args.current)))
    print(text, end="")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as out:
            out.write(text)
    return EXIT_REGRESSION if comparison.regressions else EXIT_OK


def run_history(args: argparse.Namespace) -> int:
    output, skipped = write_history(args.directory, args.output)
    for line in skipped:
        print(f"{PROG} history: {line}", file=sys.stderr)
    print(f"history: {output}")
    return EXIT_OK


COMMANDS = {"render": run_render, "compare": run_compare, "history": run_history}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ResultsError, JUnitError, ThresholdsError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"{PROG} {args.command}: error: {exc.filename or ''}: {exc.strerror}",
              file=sys.stderr)
    return EXIT_BAD_INPUT
