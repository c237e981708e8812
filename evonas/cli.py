"""The ``evonas`` command line; every command is a thin layer over the library."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evonas import __version__
from evonas.errors import EvonasError
from evonas.evaluators import EVALUATORS
from evonas.evaluators.strategies import DEFAULT_STRATEGY, STRATEGIES
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.populations.manager import SearchOptions
from evonas.populations.screening import ScreenOptions
from evonas.proxies import PROXIES
from evonas.spaces import SPACES

# The main job's budget: with the default supernet it ends within about five minutes on two cores.
DEFAULT_POPULATION = 24
DEFAULT_GENERATIONS = 12


def _warn(message: str) -> None:
    click.echo(f"evonas: warning: {message}", err=True)


class _Progress:
    """A tqdm bar over the search's evaluations, with the generation and the front's size; made when the search
    starts (after the evaluator's own bars: latency table, supernet training), so its rate is the search's."""

    def __init__(self, search, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=search.budget, initial=search.evaluated, unit="eval", desc=f"gen {search.generation + 1}",
                        disable=not enabled, dynamic_ncols=True)

    def on_evaluation(self, individual) -> None:
        self.bar.update(1)

    def on_generation(self, search, report) -> None:
        self.bar.set_description(f"gen {report.generation + 1}")
        self.bar.set_postfix(front=len(report.front), refresh=False)

    def close(self) -> None:
        self.bar.close()


def _run(search, quiet: bool) -> None:
    from evonas.errors import ClusterError

    progress = None
    try:
        if not search.finished:  # each phase its own bar: the evaluator's preparation first, then the search's
            search.evaluator.prepare(progress=not quiet)
        progress = _Progress(search, enabled=not quiet)
        front = search.run([progress.on_generation], on_evaluation=progress.on_evaluation, progress=not quiet)
    except KeyboardInterrupt:
        if progress:
            progress.close()
        click.echo(f"evonas: interrupted; continue with: evonas resume {search.store.path}", err=True)
        sys.exit(130)
    except ClusterError as error:
        if progress:
            progress.close()
        click.echo(f"evonas: error: {error}; the run stopped after generation {search.generation}; "
                   f"continue with: evonas resume {search.store.path}", err=True)
        sys.exit(1)
    progress.close()
    from evonas.plotting import plot_run

    plot_run(search.store.path)
    note = " (search space exhausted)" if search.exhausted else ""
    click.echo(
        f"{search.evaluated} architectures evaluated in {search.generation + 1} generations{note}; "
        f"front of {len(front)} in {search.store.path / 'front.csv'}, plotted in {search.store.path / 'plots'}"
    )
    if not front:
        _warn_empty_front(search)


def _warn_empty_front(search) -> None:
    closest = search.closest_to_feasible()
    if closest is None:
        _warn("the front is empty: no evaluation succeeded (see the status column of evaluations.csv)")
        return
    individual, violation = closest
    values = ", ".join(f"{c.metric}={individual.metrics[c.metric]:.6g} ({c.spec})" for c in search.constraints)
    _warn(f"the front is empty: no architecture met the constraints; the closest, {individual.arch}, has {values}, "
          f"a total relative violation of {violation:.3g}")


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


def _strategy_options(ctx, param, values: tuple[str, ...]) -> dict[str, int | float | str] | None:
    """``NAME=VALUE`` pairs; a value is read as an integer, else a number, else kept as text."""
    options: dict[str, int | float | str] = {}
    for item in values:
        name, _, text = item.partition("=")
        if not name.strip() or not text.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        for kind in (int, float, str):
            try:
                options[name.strip()] = kind(text.strip())
                break
            except ValueError:
                continue
    return options or None


def _names(registry) -> str:
    """The registry's names, installed plug-ins included (their modules are not imported), and module:attr."""
    return ", ".join([*registry, "module:attr"])


def _strategy_option_names() -> str:
    """The options of evonas's own strategies (a plug-in's are not imported for --help)."""
    options = {name: STRATEGIES[name].option_names() for name in STRATEGIES if STRATEGIES.origin(name) is None}
    return "; ".join(f"{name}: {', '.join(names)}" for name, names in options.items() if names)


# Options of the network evaluators (supernet, train, zero-cost); each is passed on only when given, so an
# evaluator that does not take it reports it (make_evaluator).
EVALUATOR_OPTIONS = (
    click.option("--data", help="Dataset: cluttered-digits (default), digits, a .npz file (x, y) or a folder of class folders."),
    click.option("--strategy", help=f"Supernet training strategy: {_names(STRATEGIES)} [{DEFAULT_STRATEGY}] (README: supernet training strategies)."),
    click.option("--strategy-option", "strategy_options", multiple=True, callback=_strategy_options,
                 help=f"An option of the strategy as NAME=VALUE, e.g. pool=50 ({_strategy_option_names()}); repeatable."),
    click.option("--scoring-images", type=int, help="Training images held out to score paths (greedy, eps) [128]."),
    click.option("--epochs", type=int, help="Training epochs (supernet, or each candidate with --evaluator train)."),
    click.option("--steps", type=int, help="Optimiser steps each candidate trains (surgery evaluator) [100]."),
    click.option("--recovery-steps", type=int, help="Extra steps after an edit that loses the parent's function (surgery) [30]."),
    click.option("--batch-size", type=int, help="Training batch size [64]."),
    click.option("--optimizer", help="sgd (Nesterov) or adam [sgd]."),
    click.option("--lr", type=float, help="Initial learning rate [0.1]."),
    click.option("--weight-decay", type=float, help="L2 penalty [supernet 4e-5, train 5e-4]."),
    click.option("--schedule", help="Learning-rate schedule: cosine or constant [cosine]."),
    click.option("--calibration-batches", type=int, help="Training batches that recompute a candidate's BatchNorm statistics [8]."),
    click.option("--widths", callback=_widths, help="Network widths, e.g. channels=8,head_channels=64 (see README)."),
    click.option("--supernet", type=click.Path(file_okay=False), help="Reuse the trained supernet of this run directory."),
    click.option("--threads", type=int, help="Torch threads [1]."),
    click.option("--proxy", help=f"Zero-cost proxy (zero-cost evaluator): {', '.join(PROXIES)}."),
)
PATH_OPTIONS = ("supernet",)

# How a run executes (not part of it: they may change on resume).
EXECUTION_OPTIONS = (
    click.option("--jobs", default=1, show_default=True, type=int, help="Local worker processes evaluating candidates at once."),
    click.option("--backend", default="loky", show_default=True,
                 help="Where candidates are evaluated: loky (local processes), dask or ray (an existing cluster; see README)."),
    click.option("--scheduler", help="The Dask scheduler's address (--backend dask), e.g. tcp://127.0.0.1:8786."),
    click.option("--address", help="The Ray cluster's address (--backend ray), e.g. 127.0.0.1:6379."),
)


def _executor(jobs: int, backend: str, scheduler: str | None, address: str | None):
    """The executor the execution options ask for, connected to its cluster."""
    from evonas.parallel import Parallelism

    if scheduler and backend != "dask":
        raise click.BadParameter("--scheduler needs --backend dask", param_hint="--scheduler")
    if address and backend != "ray":
        raise click.BadParameter("--address needs --backend ray", param_hint="--address")
    return Parallelism(backend=backend, jobs=jobs, address=scheduler or address).open()


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
@click.option("--space", default="macro", show_default=True, help=f"Search space: {_names(SPACES)} (see `evonas spaces`).")
@click.option("--evaluator", default="supernet", show_default=True, help=f"How candidates are measured: {_names(EVALUATORS)}.")
@click.option("--table", type=click.Path(dir_okay=False), help="Benchmark table CSV (table evaluator).")
@click.option(
    "--objectives",
    default="acc,latency",
    show_default=True,
    help="Comma list of NAME[=SOURCE][:min|max]; acc and proxy scores (synflow...) are maximised, "
    "latency/params/flops/size minimised; latency:measured times whole networks.",
)
@click.option("--constraint", "constraints", multiple=True, help='A limit such as "latency<=5"; repeatable.')
@click.option("--population", default=DEFAULT_POPULATION, show_default=True, type=int, help="Population size.")
@click.option("--generations", type=int, help=f"Stop after this generation (0 = initial population only) [{DEFAULT_GENERATIONS}].")
@click.option("--evaluations", type=int, help="Stop after this many distinct architectures.")
@click.option("--local-search", default=SearchOptions.local_search, show_default=True, type=click.FloatRange(0, 1),
              help="Share of each generation drawn as unseen one-gene neighbours of the archive's best (Pareto local search); "
              "the rest by tournament, crossover and mutation.")
@click.option("--predictor-pool", default=SearchOptions.predictor_pool, show_default=True, type=click.FloatRange(min=1),
              help="Offspring proposed per offspring evaluated; a ridge regression fitted on the archive keeps those "
              "predicted to fall least short of the front (1: evaluate every proposal).")
@click.option("--predictor-fit", default=SearchOptions.predictor_fit, show_default=True, type=click.FloatRange(max=1),
              help="The least leave-one-out R^2 of the predictor, on every objective, at which it filters; below, every proposal is "
              "evaluated (0: filter whenever it has data).")
@click.option("--model-share", default=SearchOptions.model_share, show_default=True, type=click.FloatRange(0, 1),
              help="Share of each generation drawn from a per-gene model of the archive's best against the rest, "
              "while the archive is smaller than --model-evaluations (0: never).")
@click.option("--model-evaluations", default=SearchOptions.model_evaluations, show_default=True, type=click.IntRange(min=0),
              help="Evaluations after which the gene model (--model-share) stops proposing.")
@click.option("--neutral-moves/--no-neutral-moves", default=SearchOptions.neutral_moves, show_default=True,
              help="Local search also tries two-gene moves through an edit that changes no function (NB201: reviving a dead edge).")
@click.option("--swap-moves/--no-swap-moves", default=SearchOptions.swap_moves, show_default=True,
              help="Local search also tries exchanging the choices of two genes with the same options (NB201: two edges' operations).")
@click.option("--equivalents/--no-equivalents", default=SearchOptions.equivalents, show_default=True,
              help="Evaluate one genotype per function where the space declares equivalent ones (NB201: cells that differ only "
              "in edges computing nothing); --no-equivalents tells every genotype apart.")
@click.option("--crossover", help=f"Crossover: {_names(CROSSOVERS)} [{SearchOptions.crossover}; layers on the surgery space].")
@click.option("--crossover-prob", default=SearchOptions.crossover_prob, show_default=True, type=float)
@click.option("--mutation", help=f"Mutation: {_names(MUTATIONS)} [{SearchOptions.mutation}; edit on the surgery space].")
@_with_options(EVALUATOR_OPTIONS)
@click.option("--screen", help="Proxy screening: offspring are drawn --screen-factor times over and the best by this zero-cost proxy (e.g. synflow) evaluated.")
@click.option("--screen-factor", default=ScreenOptions.factor, show_default=True, type=int, help="Offspring drawn per offspring evaluated (--screen).")
@click.option("--screen-image-size", default=ScreenOptions.image_size, show_default=True, type=int, help="Image side the screened networks are built for.")
@click.option("--screen-widths", callback=_widths, help="Network widths of the screened networks, e.g. cells_per_stage=1 [published].")
@_with_options(EXECUTION_OPTIONS)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the run.")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory [default: checkpoints/<space>-<evaluator>-seed<seed>-<time>].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def evolve(space, evaluator, table, objectives, constraints, population, generations, evaluations, local_search, predictor_pool,
           predictor_fit, model_share, model_evaluations, neutral_moves, swap_moves, equivalents, crossover, crossover_prob, mutation, screen, screen_factor, screen_image_size, screen_widths, jobs, backend, scheduler,
           address, seed, run_dir, quiet, **evaluator_options):
    """Start a search and write it to a run directory.

    With no option: a supernet of the macro space trained on the embedded cluttered digits, then
    a search of accuracy against latency (a few minutes on a laptop CPU).
    """
    from evonas.search import RunConfig, Search, default_run_dir
    from evonas.spaces import get_space

    if generations is None and evaluations is None:
        generations = DEFAULT_GENERATIONS
    operators = get_space(space).default_operators
    crossover = crossover or operators.get("crossover", SearchOptions.crossover)
    mutation = mutation or operators.get("mutation", SearchOptions.mutation)
    config = RunConfig(
        space=space,
        evaluator=evaluator,
        evaluator_options=_evaluator_options(table, evaluator_options),
        objectives=tuple(objectives.split(",")),
        constraints=tuple(constraints),
        search=SearchOptions(population=population, local_search=local_search, predictor_pool=predictor_pool, predictor_fit=predictor_fit,
                            model_share=model_share, model_evaluations=model_evaluations, neutral_moves=neutral_moves,
                            swap_moves=swap_moves, crossover=crossover, crossover_prob=crossover_prob, mutation=mutation,
                            equivalents=equivalents),
        screen=ScreenOptions(proxy=screen, factor=screen_factor, image_size=screen_image_size, widths=screen_widths or {})
        if screen
        else None,
        generations=generations,
        evaluations=evaluations,
        seed=seed,
    )
    with _executor(jobs, backend, scheduler, address) as executor:
        search = Search.start(config, Path(run_dir) if run_dir else default_run_dir(space, evaluator, seed), warn=_warn, executor=executor)
        _run(search, quiet)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--generations", type=int, help="New budget: stop after this generation.")
@click.option("--evaluations", type=int, help="New budget: stop after this many distinct architectures.")
@_with_options(EXECUTION_OPTIONS)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def resume(run_dir, generations, evaluations, jobs, backend, scheduler, address, quiet):
    """Continue an interrupted run, or extend a finished one with a new budget (on the same or other workers)."""
    from evonas.search import Search

    with _executor(jobs, backend, scheduler, address) as executor:
        search = Search.resume(Path(run_dir), generations=generations, evaluations=evaluations, warn=_warn, executor=executor)
        if search.finished and generations is None and evaluations is None:
            click.echo(f"{search.store.path} is complete ({search.evaluated} evaluations); extend it with --generations or --evaluations")
            return
        _run(search, quiet)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--sort", "sort_by", help="Objective to sort by, best first [default: the first objective].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table", show_default=True)
def show(run_dir, sort_by, fmt):
    """Print the final front of a run: arch, objectives, the generation that found it (and the test accuracy
    after `evonas retrain`)."""
    from evonas.history import RunHistory
    from evonas.report import front_table, read_retrain, with_test_accuracy

    table = front_table(RunHistory.load(Path(run_dir), warn=_warn), sort_by)
    click.echo(with_test_accuracy(table, read_retrain(Path(run_dir))).render(fmt), nl=False)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Figure file (.png, .pdf, .svg) [default: RUN_DIR/plots/front.png].")
@click.option("--compare", multiple=True, type=click.Path(file_okay=False), help="Another run whose final front to overlay; repeatable.")
def plot(run_dir, out, compare):
    """Plot the front after each generation and the hypervolume over time, or compare final fronts."""
    from evonas.history import RunHistory
    from evonas.plotting import compare_figure, figure_path, plot_run, save_figure

    if compare:
        if out:
            figure_path(Path(out))  # before the runs are read and drawn
        histories = [RunHistory.load(Path(d)) for d in (run_dir, *compare)]
        written = [save_figure(compare_figure(histories), Path(out) if out else histories[0].path / "plots" / "compare.png")]
    else:
        written = plot_run(Path(run_dir), Path(out) if out else None)
    for path in written:
        click.echo(str(path))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="HTML file [default: RUN_DIR/report.html].")
def report(run_dir, out):
    """Write a self-contained HTML report of a run (configuration, figures, front table)."""
    from evonas.report import write_report

    click.echo(str(write_report(Path(run_dir), Path(out) if out else Path(run_dir) / "report.html")))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False),
              help="File to write: .json (genotype), .pt (state dict + genotype), .ts (TorchScript), .onnx.")
@click.option("--arch", help="The architecture's canonical string.")
@click.option("--rank", type=int, help="Position on the front as `evonas show` lists it (1 = best by the first objective).")
def export(run_dir, out, arch, rank):
    """Export an architecture: its genotype, and its network carrying the weights the search measured it with."""
    from evonas.export import export as export_architecture

    path, inherited = export_architecture(Path(run_dir), Path(out), arch=arch, rank=rank)
    if not inherited:
        _warn("this run's evaluator keeps no weights: the exported network is freshly initialised (see `evonas retrain`)")
    click.echo(str(path))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--top", default=3, show_default=True, type=int, help="How many of the front to retrain, best first.")
@click.option("--epochs", type=int, help="Training epochs [the train evaluator's default].")
@click.option("--jobs", default=1, show_default=True, type=int, help="Architectures trained at once.")
def retrain(run_dir, top, epochs, jobs):
    """Train the front's best architectures from scratch and report their test accuracy (retrain.csv)."""
    from evonas.retrain import retrain as retrain_front

    click.echo(retrain_front(Path(run_dir), top=top, epochs=epochs, jobs=jobs, progress=True).render(), nl=False)


@cli.command()
def spaces():
    """List the search spaces with their sizes, installed plug-ins marked with where they come from."""
    from evonas.plugins import describe
    from evonas.spaces import SPACES, get_space

    for name in SPACES:
        origin = SPACES.origin(name)
        source = f"  [plug-in: {describe(origin)}]" if origin else ""
        try:
            space = get_space(name)
        except EvonasError as error:  # one broken plug-in does not hide the other spaces
            _warn(str(error))
            continue
        click.echo(f"{name:<8} {space.size:>16,} architectures  {len(space.genes):>2} genes  {space.description}{source}")


def _fail(message: str) -> None:
    """One line on stderr and exit code 2: a message's own line breaks become spaces."""
    click.echo(f"evonas: error: {' '.join(message.splitlines())}", err=True)
    sys.exit(2)


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
        _fail(error.format_message())
    except EvonasError as error:
        _fail(str(error))
    except OSError as error:  # a file evonas could not write or read: a full disk, a permission, a vanished folder
        _fail(f"{error.strerror or error}{': ' + str(error.filename) if error.filename else ''}")
