"""The ``evonas`` command line; every command is a thin layer over the library."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from evonas import __version__
from evonas.errors import EvonasError
from evonas.populations.manager import NSGA2Options

DEFAULT_PARENT = Path("checkpoints")
# The main job's budget: with the default supernet it ends within about five minutes on two cores.
DEFAULT_POPULATION = 24
DEFAULT_GENERATIONS = 12


def _warn(message: str) -> None:
    click.echo(f"evonas: warning: {message}", err=True)


def _default_run_dir(space: str, evaluator: str, seed: int) -> Path:
    return DEFAULT_PARENT / f"{space}-{evaluator}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


class _Progress:
    """A tqdm bar over evaluations, with the generation and the front's size."""

    def __init__(self, search, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=search.budget, initial=search.evaluated, unit="eval", disable=not enabled, dynamic_ncols=True)
        self.bar.set_description(f"gen {search.generation + 1}")

    def on_evaluation(self, individual) -> None:
        self.bar.update(1)

    def on_generation(self, search, report) -> None:
        self.bar.set_description(f"gen {report.generation + 1}")
        self.bar.set_postfix(front=len(report.front), refresh=False)

    def close(self) -> None:
        self.bar.close()


def _run(search, quiet: bool) -> None:
    progress = _Progress(search, enabled=not quiet)
    try:
        front = search.run([progress.on_generation], on_evaluation=progress.on_evaluation, progress=not quiet)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"evonas: interrupted; continue with: evonas resume {search.store.path}", err=True)
        sys.exit(130)
    progress.close()
    note = " (search space exhausted)" if search.exhausted else ""
    click.echo(
        f"{search.evaluated} architectures evaluated in {search.generation + 1} generations{note}; "
        f"front of {len(front)} in {search.store.path / 'front.csv'}"
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="evonas")
def cli() -> None:
    """Multi-objective evolutionary neural architecture search."""


def _widths(ctx, param, value: str | None) -> dict[str, int] | None:
    if value is None:
        return None
    widths = {}
    for item in value.split(","):
        key, _, number = item.partition("=")
        if not key.strip() or not number.strip().isdigit():
            raise click.BadParameter(f"expected NAME=INTEGER[,NAME=INTEGER...], got {value!r}")
        widths[key.strip()] = int(number)
    return widths


# Options of the network evaluators (supernet, train); each is passed on only when given, so an
# evaluator that does not take it reports it (make_evaluator).
EVALUATOR_OPTIONS = (
    click.option("--data", help="Dataset: cluttered-digits (default), digits, a .npz file (x, y) or a folder of class folders."),
    click.option("--strategy", help="Supernet training strategy: spos."),
    click.option("--epochs", type=int, help="Training epochs (supernet, or each candidate with --evaluator train)."),
    click.option("--batch-size", type=int, help="Training batch size [64]."),
    click.option("--optimizer", help="sgd (Nesterov) or adam [sgd]."),
    click.option("--lr", type=float, help="Initial learning rate [0.1]."),
    click.option("--weight-decay", type=float, help="L2 penalty [supernet 4e-5, train 5e-4]."),
    click.option("--schedule", help="Learning-rate schedule: cosine or constant [cosine]."),
    click.option("--calibration-batches", type=int, help="Training batches that recompute a candidate's BatchNorm statistics [8]."),
    click.option("--widths", callback=_widths, help="Network widths, e.g. channels=8,head_channels=64 (see README)."),
    click.option("--supernet", type=click.Path(file_okay=False), help="Reuse the trained supernet of this run directory."),
    click.option("--jobs", type=int, help="Candidates trained at once by the train evaluator [1]."),
    click.option("--threads", type=int, help="Torch threads [1]."),
)
PATH_OPTIONS = ("supernet",)


def _evaluator_options(table: str | None, given: dict) -> dict:
    options = {name: value for name, value in given.items() if value is not None}
    if table is not None:
        options["table"] = table
    for name in ("table", *PATH_OPTIONS):
        if name in options:
            options[name] = str(Path(options[name]).absolute())
    if "data" in options and Path(options["data"]).exists():
        options["data"] = str(Path(options["data"]).absolute())
    return options


def _with_options(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@cli.command()
@click.option("--space", default="macro", show_default=True, help="Search space (see `evonas spaces`).")
@click.option("--evaluator", default="supernet", show_default=True, help="How candidates are measured: supernet, train, table.")
@click.option("--table", type=click.Path(dir_okay=False), help="Benchmark table CSV (table evaluator).")
@click.option(
    "--objectives",
    default="acc,latency",
    show_default=True,
    help="Comma list of NAME[=SOURCE][:min|max]; acc is maximised, latency/params/flops/size minimised; "
    "latency:measured times whole networks.",
)
@click.option("--constraint", "constraints", multiple=True, help='A limit such as "latency<=5"; repeatable.')
@click.option("--population", default=DEFAULT_POPULATION, show_default=True, type=int, help="Population size.")
@click.option("--generations", type=int, help=f"Stop after this generation (0 = initial population only) [{DEFAULT_GENERATIONS}].")
@click.option("--evaluations", type=int, help="Stop after this many distinct architectures.")
@click.option("--crossover", default=NSGA2Options.crossover, show_default=True, help="Crossover: uniform, two-point.")
@click.option("--crossover-prob", default=NSGA2Options.crossover_prob, show_default=True, type=float)
@click.option("--mutation", default=NSGA2Options.mutation, show_default=True, help="Mutation: resample, neighbour.")
@_with_options(EVALUATOR_OPTIONS)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the run.")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory [default: checkpoints/<space>-<evaluator>-seed<seed>-<time>].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def evolve(space, evaluator, table, objectives, constraints, population, generations, evaluations, crossover, crossover_prob,
           mutation, seed, run_dir, quiet, **evaluator_options):
    """Start a search and write it to a run directory.

    With no option: a supernet of the macro space trained on the embedded cluttered digits, then
    NSGA-II over accuracy and latency (a few minutes on a laptop CPU).
    """
    from evonas.search import RunConfig, Search

    if generations is None and evaluations is None:
        generations = DEFAULT_GENERATIONS
    config = RunConfig(
        space=space,
        evaluator=evaluator,
        evaluator_options=_evaluator_options(table, evaluator_options),
        objectives=tuple(objectives.split(",")),
        constraints=tuple(constraints),
        search=NSGA2Options(population=population, crossover=crossover, crossover_prob=crossover_prob, mutation=mutation),
        generations=generations,
        evaluations=evaluations,
        seed=seed,
    )
    search = Search.start(config, Path(run_dir) if run_dir else _default_run_dir(space, evaluator, seed))
    _run(search, quiet)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--generations", type=int, help="New budget: stop after this generation.")
@click.option("--evaluations", type=int, help="New budget: stop after this many distinct architectures.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def resume(run_dir, generations, evaluations, quiet):
    """Continue an interrupted run, or extend a finished one with a new budget."""
    from evonas.search import Search

    search = Search.resume(Path(run_dir), generations=generations, evaluations=evaluations, warn=_warn)
    if search.finished and generations is None and evaluations is None:
        click.echo(f"{search.store.path} is complete ({search.evaluated} evaluations); extend it with --generations or --evaluations")
        return
    _run(search, quiet)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
def show(run_dir):
    """Print the front of a run as a table."""
    from evonas.checkpoint import RunStore

    store = RunStore.open(Path(run_dir))
    names, rows = store.read_front()
    found = {row.arch: row.generation for row in store.read_evaluations()[0]}
    header = ["arch", *names, "generation"]
    table = [[arch, *(f"{v:.6g}" for v in values), str(found.get(arch, ""))] for arch, values in rows]
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(header)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)))


@cli.command()
def spaces():
    """List the search spaces with their sizes."""
    from evonas.spaces import SPACES, get_space

    for name in SPACES:
        space = get_space(name)
        click.echo(f"{name:<8} {space.size:>16,} architectures  {len(space.genes):>2} genes  {space.description}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI, turning bad input into one line on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="evonas", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        click.echo("evonas: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        click.echo(f"evonas: error: {error.format_message()}", err=True)
        sys.exit(2)
    except EvonasError as error:
        click.echo(f"evonas: error: {error}", err=True)
        sys.exit(2)
