"""Search quality with and without proxy screening, at equal numbers of table evaluations.

Runs `evonas.search.Search` on a benchmark table (the table evaluator supplies the objectives) once
per seed, without screening or with ``--screen PROXY``, and reports after each budget (distinct
architectures the table evaluated) the front recall (share of the table's Pareto-optimal
architectures evaluated) and the hypervolume ratio (objectives normalised by the ideal and nadir
points of the table's true front, reference point 1.1, HV of the evaluated points over that of the
true front; pymoo's ``HV``), one line per seed, then the medians.

    python benchmarks/screening.py --table ../shared/data/nb201/nb201.csv \\
        --objectives acc=cifar10_test_acc,latency=latency_fpga_ms --budgets 100,300 --seeds 0:10 --screen synflow
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from evonas.evaluators.table import read_table
from evonas.objectives import minimisation_matrix, parse_objectives
from evonas.populations.manager import NSGA2Options
from evonas.populations.screening import ScreenOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--objectives", required=True, help="e.g. acc=cifar10_test_acc,latency=latency_fpga_ms")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--budgets", default="100,300")
    parser.add_argument("--seeds", default="0:10", help="A range FIRST:STOP of seeds.")
    parser.add_argument("--population", type=int, default=50)
    parser.add_argument("--screen", help="Proxy to screen offspring with (none: no screening).")
    parser.add_argument("--screen-factor", type=int, default=ScreenOptions.factor)
    parser.add_argument("--screen-image-size", type=int, default=ScreenOptions.image_size, help="Proxy size: image side.")
    parser.add_argument("--screen-widths", default="", help="Proxy size: network options, e.g. cells_per_stage=1.")
    args = parser.parse_args()

    space = get_space(args.space)
    objectives = parse_objectives(args.objectives)
    rows = read_table(args.table, space, [o.source for o in objectives])
    archs = list(rows)
    values = minimisation_matrix([dict(zip([o.name for o in objectives], rows[a])) for a in archs], objectives)
    on_front = NonDominatedSorting().do(values, only_non_dominated_front=True)
    front = {archs[i] for i in on_front}
    ideal, nadir = values[on_front].min(axis=0), values[on_front].max(axis=0)
    hypervolume = HV(ref_point=np.full(len(objectives), 1.1))
    best = hypervolume((values[on_front] - ideal) / (nadir - ideal))
    position = {arch: i for i, arch in enumerate(archs)}
    budgets = [int(b) for b in args.budgets.split(",")]
    widths = {key: int(value) for key, value in (item.split("=") for item in args.screen_widths.split(",") if item)}
    screen = ScreenOptions(proxy=args.screen, factor=args.screen_factor,
                           image_size=args.screen_image_size, widths=widths) if args.screen else None
    label = (f"screen {args.screen} x{args.screen_factor} (image {args.screen_image_size}, "
             f"widths {widths or 'published'})" if screen else "no screening")
    print(f"{label}; {len(front)} Pareto-optimal architectures in {args.table.name} for {args.objectives}")
    results: dict[int, list[tuple[float, float]]] = {b: [] for b in budgets}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(*map(int, args.seeds.split(":"))):
            config = RunConfig(space=args.space, evaluator="table", evaluator_options={"table": str(args.table)},
                               objectives=tuple(o.spec for o in objectives), evaluations=max(budgets), seed=seed,
                               screen=screen, search=NSGA2Options(population=args.population))
            search = Search.start(config, Path(scratch) / f"seed{seed}")
            search.run()
            seen = [ind.arch for ind in sorted(search.manager.archive.values(), key=lambda ind: ind.uid)]
            line = [f"seed {seed}:"]
            for budget in budgets:
                evaluated = seen[:budget]
                points = (values[[position[a] for a in evaluated]] - ideal) / (nadir - ideal)
                recall, ratio = len(front & set(evaluated)) / len(front), hypervolume(points) / best
                results[budget].append((recall, ratio))
                line.append(f"recall@{budget}={recall:.3f} hv@{budget}={ratio:.4f}")
            print(" ".join(line), flush=True)
    print("medians: " + " ".join(
        f"recall@{b}={statistics.median(r for r, _ in results[b]):.3f} hv@{b}={statistics.median(h for _, h in results[b]):.4f}"
        for b in budgets))


if __name__ == "__main__":
    main()
