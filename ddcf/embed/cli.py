"""Command line of stage 3 (get_question_embeddings.py, ``ddcf embed``)."""

from __future__ import annotations

from ddcf.embed.config import EmbedConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="embed", config=EmbedConfig, run="ddcf.embed.stage:run", prog="get_question_embeddings.py")
main = command.main
build_parser = command.build_parser
