"""A tiny shard job for the executor tests: shard i writes i*i into its file, counting every write."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ddcf.executors.base import Shard, ShardJob
from ddcf.io import write_json, write_text


def log_write(log: Path, what: str) -> None:
    """One line per write, appended by whichever process wrote (O_APPEND lines do not interleave)."""
    with open(log, "a") as fh:
        fh.write(what + "\n")


def writes(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@dataclass
class SquareJob(ShardJob):
    out: Path
    n: int
    die_on: int | None = None  # this shard's worker dies (os._exit) on its first try, mid-write
    fail_on: int | None = None  # this shard raises a user error
    name = "squares"
    unit = "n"

    def shards(self):
        return [Shard(i, i + 1, {"value": i}) for i in range(self.n)]

    def marker(self, shard):
        return self.out / f"shard-{shard.index:03d}.done"

    def run_shard(self, state, shard):
        i = shard.payload["value"]
        flag = self.out / f"died-{i}"
        if i == self.die_on and not flag.exists():
            flag.touch()
            os._exit(1)  # a killed worker: nothing after this runs
        if i == self.fail_on:
            from ddcf.errors import DDCFError

            raise DDCFError(f"shard {i} cannot be computed.", "fix shard input.")
        write_text(json.dumps({"i": i, "square": i * i}), self.out / f"shard-{i:03d}.json")
        log_write(self.out / "writes.log", str(i))
        write_json({"n": 1}, self.marker(shard))  # the marker last


@dataclass
class BrokenOpenJob(SquareJob):
    """A job whose worker setup fails (as a model that does not load)."""

    def open(self):
        from ddcf.errors import DDCFError

        raise DDCFError("no model at /nowhere.", "pass a real one.")


def _die_once(log: str, index: int, die_on: int) -> None:
    """The worker process dies (os._exit) on its first try of shard ``die_on``; a flag file marks the try."""
    flag = Path(log + f".died-{index}")
    if index == die_on and not flag.exists():
        flag.touch()
        os._exit(1)


from ddcf.embed.sharded import EmbedJob, shard_key  # noqa: E402 - after the toy job, which needs none of it


@dataclass
class DyingEmbedJob(EmbedJob):
    """The embedding job whose worker dies on its first try of shard ``die_on``; every chunk written is logged."""

    die_on: int = 1
    log: str = ""

    def run_shard(self, state, shard):
        _die_once(self.log, shard.index, self.die_on)
        super().run_shard(state, shard)
        log_write(Path(self.log), shard_key([h for h, _ in shard.payload]))


from ddcf.difficulty.sharded import DifficultyJob  # noqa: E402


@dataclass
class DyingDifficultyJob(DifficultyJob):
    """The scoring job whose worker dies on its first try of shard ``die_on``; every shard written is logged."""

    die_on: int = 1
    log: str = ""

    def run_shard(self, state, shard):
        _die_once(self.log, shard.index, self.die_on)
        super().run_shard(state, shard)
        log_write(Path(self.log), str(shard.index))


from ddcf.executors.jobs.generate import GenerationJob  # noqa: E402
from ddcf.score.sharded import ScoreJob  # noqa: E402


@dataclass
class DyingGenerationJob(GenerationJob):
    """Generation whose worker dies on its first try of shard ``die_on``; every shard written is logged."""

    die_on: int = 1
    log: str = ""

    def run_shard(self, state, shard):
        _die_once(self.log, shard.index, self.die_on)
        out = super().run_shard(state, shard)
        log_write(Path(self.log), str(shard.index))
        return out


@dataclass
class DyingScoreJob(ScoreJob):
    """Scoring whose worker dies on its first try of block ``die_on``; every part written is logged."""

    die_on: int = 1
    log: str = ""

    def run_shard(self, state, shard):
        _die_once(self.log, shard.index, self.die_on)
        out = super().run_shard(state, shard)
        log_write(Path(self.log), ",".join(self.todo["key"].iloc[shard.payload:shard.payload + shard.size]))
        return out
