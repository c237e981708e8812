"""Ask/tell: evonas proposes, your own loop evaluates (a thread pool here; a cluster's scheduler in real life).

The "architectures" are multi-layer perceptrons of scikit-learn trained on its bundled digits: evonas does not
need to know how a candidate is evaluated. Each generation, ``run.ask()`` gives the candidates, the pool
evaluates them in parallel, and ``run.tell`` records each result as it arrives; the generation is
checkpointed when its last result is told. Stop the script at any moment (``--stop-after N`` stops it
after N results, as a crash would) and run it again: it asks the candidates not yet told again and
ends with the same front as a run never stopped.

    python examples/ask_tell.py --small --stop-after 5   # stops mid-search
    python examples/ask_tell.py --small                  # continues it to the end
"""

from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import evonas

SPACE = evonas.Space(
    name="digits-mlp",
    genes={"layers": [1, 2, 3], "units": [8, 16, 32, 64], "activation": ["relu", "tanh"], "alpha": [0.0001, 0.01]},
)


def train_mlp(chosen: dict, seed: int, data, iterations: int) -> dict[str, float]:
    """What a worker of your cluster would run: train one MLP, return its validation accuracy and size."""
    x_train, x_val = (x.reshape(len(x), -1).numpy() for x in (data.x_train, data.x_val))
    model = MLPClassifier(hidden_layer_sizes=(chosen["units"],) * chosen["layers"], activation=chosen["activation"],
                          alpha=chosen["alpha"], max_iter=iterations, random_state=seed % 2**32)
    model.fit(x_train, data.y_train.numpy())
    weights = sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
    return {"acc": 100.0 * float(np.mean(model.predict(x_val) == data.y_val.numpy())), "params": float(weights)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny search (CI)")
    parser.add_argument("--run-dir", type=Path, default=Path("checkpoints/ask-tell"))
    parser.add_argument("--stop-after", type=int, help="stop after this many results, as a crash would")
    parser.add_argument("--workers", type=int, default=2, help="threads of the pool that evaluates")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # short training is the point of --small
    iterations = 10 if args.small else 200
    run = evonas.open_run(space=SPACE, objectives=["acc", "params"], data="digits", seed=0,
                          population=4 if args.small else 12, evaluations=12 if args.small else 120, run_dir=args.run_dir)
    told = 0
    with run, ThreadPoolExecutor(max_workers=args.workers) as pool:
        print(f"opened {run.run_dir} after generation {run.generation} ({run.evaluated} evaluated)")
        while not run.finished:
            candidates = run.ask()
            print(f"generation {run.generation + 1}: asked {[c.uid for c in candidates]}")
            jobs = {}
            for candidate in candidates:
                context = run.context(candidate)  # its seed and the data split by the run's seed
                jobs[pool.submit(train_mlp, context.chosen, context.seed, context.data, iterations)] = candidate
            for job in as_completed(jobs):
                if args.stop_after is not None and told == args.stop_after:
                    print(f"stopping after {told} results; run the same command again to continue")
                    sys.exit(3)
                run.tell(jobs[job], job.result())
                told += 1
        print(f"finished: {run.evaluated} evaluated; front ({run.run_dir / 'front.csv'}):")
        for row in run.result().to_rows():
            print(f"  {row['arch']:48} acc {row['acc']:6.2f}%  params {row['params']:.0f}")


if __name__ == "__main__":
    main()
