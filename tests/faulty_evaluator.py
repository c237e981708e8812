"""A table evaluator that misbehaves on chosen candidates: raises, returns NaN, or kills the worker process.

In its own module so that worker processes (loky, Dask, Ray) can unpickle it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from evonas.evaluators.base import Candidate, Evaluation
from evonas.evaluators.table import TableEvaluator


class FaultyTableEvaluator(TableEvaluator):
    """Looks candidates up like the table evaluator, except those whose uid is in ``faults``.

    ``faults`` maps a uid to "raise", "nan" or "die" (the process exits at once). A fault happens
    ``times`` times for each uid (counted by marker files in ``markers``, shared by all processes), then the
    candidate is evaluated normally. Unlike the table evaluator, it is evaluated on an executor's workers.
    """

    in_process = False

    def __init__(self, *, faults: dict[int, str], markers: Path, times: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.faults, self.markers, self.times = dict(faults), Path(markers), times

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        fault = self.faults.get(candidate.uid)
        if fault is not None:
            done = len(list(self.markers.glob(f"{candidate.uid}-*")))
            if done < self.times:
                (self.markers / f"{candidate.uid}-{done}").touch()
                if fault == "die":
                    os._exit(3)
                if fault == "raise":
                    raise RuntimeError(f"injected fault on uid {candidate.uid}\nsecond line")
                evaluation = super().evaluate_one(candidate)
                return Evaluation({name: math.nan for name in evaluation.metrics})
        return super().evaluate_one(candidate)
