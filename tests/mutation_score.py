"""Mutation score of the modules that decide counts and delivery (``make mutation``).

Runs mutmut (3.x, from PyPI) on a clean copy of the committed tree (``git archive HEAD`` into
``build/mutation``, so a checkout others are editing is never touched), mutating only the
modules below and running only the fast tests that cover each of them; mutmut runs, for every
mutant, just the tests that executed the mutated function. Prints, per module, the mutants
killed, survived (a test suite that stays green on a changed program), timed out, and the
score; then the surviving mutants, which ``mutmut show NAME`` (in ``build/mutation``) prints
as a diff. Not part of ``make test``: it runs the covering tests once per mutant (README,
"Mutation testing", has the time).

    python -m tests.mutation_score [--module edge/counting/counters.py ...] [--children 2]
    python -m tests.mutation_score --report-only --module ...   # the last run again
    python -m tests.mutation_score --work /tmp/mutation-writer --module ...  # another copy
    python -m tests.mutation_score --module aggregator/ingest/service.py --only '*_handle*'

``--only`` (a glob over mutant names, repeatable) mutates just the matching functions: the
service's and publisher's covering tests start real servers, so a run of every function
takes hours on two cores; the report then counts only the mutants run.

``--work`` lets two runs (two modules, or two people on one machine) use separate copies.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutation"
"""The default copy; ``--work`` picks another."""

COUNTING_TESTS = [
    "tests/edge/test_counting.py",
    "tests/edge/test_crossings.py",
    "tests/edge/test_roles.py",
    "tests/edge/test_live_crossings.py",
    "tests/edge/test_geometry_mutants.py",
    "tests/edge/test_camera_mutants.py",
    "tests/edge/test_role_mutants.py",
    "tests/edge/test_stitching_mutants.py",
    "tests/edge/test_swaps_mutants.py",
    "tests/edge/test_counter_mutants.py",
    "tests/edge/test_interval_mutants.py",
    "tests/edge/test_dwell_mutants.py",
]
"""Synthetic tracks through the camera's counters (lines, zones, stitching, swaps, roles),
and the edges ``make mutation`` found in them (``*_mutants.py``)."""

MODULES: dict[str, list[str]] = {
    "edge/counting/counters.py": COUNTING_TESTS,
    "edge/counting/geometry.py": COUNTING_TESTS,
    "edge/counting/stitching.py": COUNTING_TESTS,
    "edge/counting/swaps.py": COUNTING_TESTS,
    "edge/counting/camera.py": COUNTING_TESTS,
    "edge/counting/roles.py": COUNTING_TESTS,
    "edge/counting/dwell.py": [*COUNTING_TESTS, "tests/edge/test_intervals.py"],
    "edge/counting/intervals.py": [
        "tests/edge/test_intervals.py",
        "tests/edge/test_interval_edges.py",
        *COUNTING_TESTS,
    ],
    "edge/transport/outbox.py": [
        "tests/edge/test_outbox.py",
        "tests/edge/test_outbox_edges.py",
        "tests/edge/test_outbox_quota.py",
        "tests/edge/test_interval_merge_v2.py",
    ],
    "edge/transport/outbox_quota.py": [
        "tests/edge/test_outbox.py",
        "tests/edge/test_outbox_quota.py",
    ],
    "edge/transport/interval_merge.py": [
        "tests/edge/test_outbox.py",
        "tests/edge/test_outbox_quota.py",
        "tests/edge/test_interval_merge_v2.py",
        "tests/edge/test_interval_merge_edges.py",
    ],
    "edge/transport/publisher.py": [
        "tests/edge/test_publisher.py",
        "tests/edge/test_publisher_edges.py",
    ],
    "edge/transport/acknowledgements.py": ["tests/edge/test_acknowledgements.py"],
    "aggregator/ingest/validation.py": [
        "tests/aggregator/test_validation.py",
        "tests/aggregator/test_validation_edges.py",
    ],
    "aggregator/storage/encoding.py": [
        "tests/aggregator/test_encoding.py",
        "tests/aggregator/test_merged_intervals.py",
        "tests/aggregator/test_schema_v2.py",
        "tests/aggregator/test_encoding_edges.py",
    ],
    "aggregator/storage/points.py": [
        "tests/aggregator/test_encoding.py",
        "tests/aggregator/test_merged_intervals.py",
        "tests/aggregator/test_schema_v2.py",
        "tests/aggregator/test_encoding_edges.py",
        "tests/aggregator/test_points_edges.py",
    ],
    "aggregator/ingest/writer.py": [
        "tests/aggregator/test_writer.py",
        "tests/aggregator/test_acknowledgement_order.py",
        "tests/aggregator/test_writer_edges.py",
        "tests/aggregator/test_writer_spool_failure.py",
        "tests/aggregator/test_writer_batching.py",
        "tests/aggregator/test_writer_retries.py",
    ],
    "aggregator/ingest/occupancy.py": [
        "tests/aggregator/test_occupancy.py",
        "tests/aggregator/test_occupancy_edges.py",
        "tests/aggregator/test_live_occupancy.py",
        "tests/aggregator/test_service_occupancy.py",
        "tests/aggregator/test_occupancy_book_edges.py",
    ],
    "aggregator/ingest/service.py": [
        "tests/aggregator/test_service_occupancy.py",
        "tests/aggregator/test_live_service.py",
        "tests/aggregator/test_service_edges.py",
        "tests/aggregator/test_service_start.py",
    ],
    "aggregator/analysis/impact/regression.py": [
        "tests/aggregator/impact/test_estimators.py",
        "tests/aggregator/impact/test_interval_calibration.py",
        "tests/aggregator/impact/test_estimator_edges.py",
        "tests/aggregator/impact/test_regression_edges.py",
    ],
    "aggregator/analysis/impact/estimators.py": [
        "tests/aggregator/impact/test_estimators.py",
        "tests/aggregator/impact/test_baseline_comparison.py",
        "tests/aggregator/impact/test_estimator_edges.py",
    ],
}
PACKAGES = ["protocol", "command_line", "edge", "aggregator", "footfall", "dashboards"]
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
RESULT_LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+)$")


def copy_committed_tree(work: Path) -> None:
    """``build/mutation``: the files of HEAD and a mutmut section in its setup.cfg."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)


def write_settings(work: Path, modules: list[str]) -> None:
    tests = sorted({test for module in modules for test in MODULES[module]})
    packages = [package for package in PACKAGES if (work / package).is_dir()]
    lines = [
        "[mutmut]",
        "source_paths=",
        *(f"    {package}" for package in packages),
        "also_copy=",
        "    examples",
        "only_mutate=",
        *(f"    {module}" for module in modules),
        "pytest_add_cli_args_test_selection=",
        *(f"    {test}" for test in tests),
        "pytest_add_cli_args=",
        "    -p",
        "    no:cacheprovider",
        "    -q",
        "",
    ]
    (work / "setup.cfg").write_text("\n".join(lines))


RUN_MARKER = "FOOTFALL_MUTATION_RUN"
"""Set in mutmut's environment; every process it starts inherits it (see ``stop_leftovers``)."""


def mutmut(work: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("mutmut")), *arguments]
    environment = {**os.environ, RUN_MARKER: str(work)}
    return subprocess.run(
        command, cwd=work, env=environment, text=True, capture_output=True, check=False
    )


def stop_leftovers(work: Path) -> list[int]:
    """Terminates what this run left behind: a mutant that times out is killed with its
    pytest, but the InfluxDB and Mosquitto servers its fixtures started live on. They are
    found by the marker in their environment, so nothing another run started is touched."""
    marker = f"{RUN_MARKER}={work}".encode()
    stopped = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker not in environ.read_bytes().split(b"\0"):
                continue
            pid = int(environ.parent.name)
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        stopped.append(pid)
    return stopped


def module_of(work: Path, mutant: str) -> str:
    """``aggregator.ingest.writer.xǁBatchWriterǁ_run__mutmut_3`` -> its file path."""
    parts = mutant.split(".")
    for length in range(len(parts), 0, -1):
        candidate = "/".join(parts[:length]) + ".py"
        if (work / candidate).is_file():
            return candidate
    return mutant


class _TextOnly(ast.NodeTransformer):
    """Normalises string constants: lower case, without mutmut's XX markers."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            return ast.Constant(node.value.replace("XX", "").lower())
        return node


def text_only_mutants(work: Path, module: str) -> set[str]:
    """Mutants of ``module`` that change only the case or markers of a string literal (SQL
    keywords, log and error texts): candidates for equivalence, still listed for review."""
    path = work / "mutants" / module
    if not path.is_file():
        return set()
    normalised: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
            name = node.name
            node.name = "function"
            normalised[name] = ast.unparse(_TextOnly().visit(node))
    prefix = module.removesuffix(".py").replace("/", ".")
    text_only = set()
    for name, source in normalised.items():
        base, _, number = name.rpartition("__mutmut_")
        if number.isdigit() and normalised.get(f"{base}__mutmut_orig") == source:
            text_only.add(f"{prefix}.{name}")
    return text_only


def report(work: Path, output: str, modules: list[str], seconds: float, only: list[str]) -> int:
    statuses: dict[str, Counter[str]] = {module: Counter() for module in modules}
    survivors: dict[str, list[str]] = {module: [] for module in modules}
    for line in output.splitlines():
        match = RESULT_LINE.match(line)
        if match is None or (only and not any(fnmatch.fnmatch(match["name"], o) for o in only)):
            continue
        module = module_of(work, match["name"])
        status = match["status"].strip()
        statuses.setdefault(module, Counter())[status] += 1
        if status not in KILLED:
            survivors.setdefault(module, []).append(match["name"])
    text_only = {module: text_only_mutants(work, module) for module in statuses}
    header = f"{'module':<42} {'mutants':>7} {'killed':>6} {'survived':>8} {'text':>4}"
    print(f"\n{header} {'other':>5} {'score':>6}")
    for module, counts in statuses.items():
        total = sum(counts.values())
        killed = sum(counts[status] for status in KILLED)
        survived = counts["survived"] + counts["no tests"]
        text = len(text_only[module] & set(survivors[module]))
        other = total - killed - survived
        score = f"{100 * killed / total:.1f}%" if total else "-"
        print(f"{module:<42} {total:>7} {killed:>6} {survived:>8} {text:>4} {other:>5} {score:>6}")
    print(
        f"\n{seconds / 60:.1f} minutes. survived includes 'no tests'; text: survivors that only"
        " change a string's case or add markers (SQL keywords, log texts), mostly equivalent."
    )
    print(f"Surviving mutants (mutmut show NAME in {work}):")
    for module, names in survivors.items():
        for name in names:
            print(f"  {name}{' (text only)' if name in text_only[module] else ''}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), dest="modules")
    parser.add_argument("--children", type=int, default=2, help="mutants run in parallel")
    parser.add_argument(
        "--report-only", action="store_true", help="report the last run in the copy"
    )
    parser.add_argument(
        "--work", type=Path, default=WORK, help=f"the copy to mutate (default {WORK})"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="mutate only functions matching this glob"
    )
    arguments = parser.parse_args()
    work: Path = arguments.work.resolve()
    modules = arguments.modules or list(MODULES)
    started = time.monotonic()
    if not arguments.report_only:
        copy_committed_tree(work)
        write_settings(work, modules)
        run = mutmut(work, "run", "--max-children", str(arguments.children), *arguments.only)
        leftovers = stop_leftovers(work)
        if leftovers:
            print(f"stopped {len(leftovers)} servers left by timed-out mutants: {leftovers}")
        if run.returncode != 0:
            print(run.stdout[-5000:], run.stderr[-5000:], sep="\n", file=sys.stderr)
            return run.returncode
    results = mutmut(work, "results", "--all", "true")
    return report(work, results.stdout, modules, time.monotonic() - started, arguments.only)


if __name__ == "__main__":
    sys.exit(main())
