"""Epochs and effective batch by dataset size (paper Table 4), and the optimizer steps they give.

Table 4 (dataset size k -> epochs, batch): 1K-16K -> 4, 32; 32K -> 3, 64; 64K-220K -> 3, 128.  Sizes between
the table's columns take the next column up (e.g. 20,000 examples -> 3 epochs, batch 64), "K" being 1,000 as in
the paper's 1K = 1,000 selected questions.  The effective batch is per_device * gradient_accumulation * processes;
when the accumulation is not given it is the smallest that reaches the table's batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: (largest dataset size of the row, epochs, effective batch), smallest first
TABLE4 = ((16_000, 4, 32), (32_000, 3, 64))
TABLE4_LARGE = (3, 128)  # above 32,000 examples (64K, 128K, 220K)


def table4(num_examples: int) -> tuple[int, int]:
    """(epochs, effective batch) of the paper for a dataset of ``num_examples``."""
    for limit, epochs, batch in TABLE4:
        if num_examples <= limit:
            return epochs, batch
    return TABLE4_LARGE


@dataclass(frozen=True)
class Schedule:
    num_examples: int
    world_size: int
    per_device_batch: int
    grad_accum: int
    epochs: float
    max_steps: int  # what the run does: the given --max_steps, or epochs * steps per epoch
    steps_per_epoch: int
    table_batch: int
    sources: dict  # option -> "Table 4" / "given" / "derived"

    @property
    def effective_batch(self) -> int:
        return self.per_device_batch * self.grad_accum * self.world_size

    def describe(self) -> str:
        src = self.sources
        lines = [
            f"schedule: {self.num_examples:,} examples, {self.epochs:g} epoch(s) ({src['epochs']}), effective batch "
            f"{self.effective_batch} = {self.per_device_batch} per device x {self.grad_accum} accumulation x "
            f"{self.world_size} process(es) ({src['batch']}), {self.steps_per_epoch} step(s) per epoch, "
            f"{self.max_steps} optimizer step(s) ({src['steps']})",
        ]
        if src["batch"] == "Table 4" and self.effective_batch != self.table_batch:
            lines.append(f"  note: Table 4's batch {self.table_batch} is not a multiple of per_device x processes; "
                         f"the nearest reachable batch is {self.effective_batch}.")
        return "\n".join(lines)


def resolve_schedule(num_examples: int, world_size: int, per_device_batch: int, grad_accum: int | None,
                     epochs: float | None, max_steps: int | None) -> Schedule:
    """The schedule the Trainer will run, computed as transformers' Trainer does (so the printed steps are true)."""
    table_epochs, table_batch = table4(num_examples)
    per_step = per_device_batch * world_size
    accum = grad_accum if grad_accum is not None else max(1, math.ceil(table_batch / per_step))
    # transformers: batches per process = ceil(n / (per_device * processes)); steps = ceil(batches / accum)
    batches = math.ceil(num_examples / per_step)
    steps_per_epoch = max(1, math.ceil(batches / accum))
    ep = float(epochs) if epochs is not None else float(table_epochs)
    steps = max_steps if max_steps is not None else math.ceil(ep * steps_per_epoch)
    sources = {
        "epochs": "given" if epochs is not None else ("unused: --max_steps" if max_steps else "Table 4"),
        "batch": "given" if grad_accum is not None else "Table 4",
        "steps": "given" if max_steps is not None else "epochs x steps per epoch",
    }
    return Schedule(num_examples, world_size, per_device_batch, accum, ep, steps, steps_per_epoch, table_batch,
                    sources)
