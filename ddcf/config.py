"""One config system for every stage: a dataclass is the only place an option is written.

A stage declares its options once, as a dataclass whose fields are made with
:func:`option` (default, help text, range, choices).  From it we derive

* the command line (``--<field>``; bool, int, float, str, ``X | None``, choices and
  ``list[str]`` fields), with the default shown in ``--help``;
* ``--config FILE.yaml``: keys are the option names; flags given on the command line
  win over the file (as in TRL's ``TrlParser.parse_args_and_config``);
* validation: ranges and choices checked in one place, cross-option rules in the
  dataclass's ``check()``; every failure is a :class:`DDCFError` naming the option;
* the resolved config, written as YAML beside the stage's outputs, so
  ``<script> --config <that file>`` repeats the run.

This module imports nothing heavy: building a parser must keep ``--help`` instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ddcf.errors import DDCFError, first_line

CONFIG_HELP = (
    "YAML file of option values (keys are the option names without '--', e.g. 'lamda: 0.5'); options given "
    "on the command line override it. Every stage writes the options it ran with as <stage>.config.yaml "
    "beside its outputs, so passing that file here repeats the run."
)


def option(default: Any = None, help: str = "", **meta: Any) -> Any:
    """A config field.  ``meta`` may hold ``choices``, ``min``, ``max``, ``min_excl``, ``max_excl``,
    ``required`` (must be given, on the command line or in the YAML file), ``metavar``, ``aliases``
    (older flag spellings still accepted on the command line, e.g. ``("--model",)``) and ``positional``
    (given as bare words: a str field one, e.g. ``ddcf push matrix``; a ``list[str]`` field any number,
    e.g. ``ddcf report DIR DIR``)."""
    if not help:
        raise ValueError("every option needs a help text")
    if isinstance(default, (list, dict, set)):
        value = list(default) if isinstance(default, list) else default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help, **meta})
    return dataclasses.field(default=default, metadata={"help": help, **meta})


@dataclass
class StageConfig:
    """Options every stage has.  Subclass it; the subclass's docstring is the ``--help`` description."""

    workdir: str | None = option(
        None,
        "Work directory holding DDCF_data/ and factorized_data/ (default: $DDCF_WORKDIR, else the current "
        "directory).",
        metavar="DIR",
    )
    no_progress: bool = option(
        False, "Hide progress bars (when the output is not a terminal they are plain lines every few seconds)."
    )

    #: options that say where or how loudly to run, not what to compute: left out of the resolved YAML.
    RUN_ONLY = ("workdir", "no_progress")

    def check(self) -> None:
        """Cross-option rules of a stage; raise a DDCFError naming the options.  Ranges and choices are
        checked before this from the fields' metadata."""

    @property
    def progress(self) -> bool:
        return not self.no_progress

    def validate(self):
        validate(self)
        return self

    def to_dict(self, include_run_only: bool = True) -> dict:
        out = dataclasses.asdict(self)
        if not include_run_only:
            for name in self.RUN_ONLY:
                out.pop(name, None)
        return out


# ---------------------------------------------------------------------------- field types
@dataclass(frozen=True)
class _Kind:
    base: type  # int, float, str or bool
    optional: bool
    is_list: bool


def _kind(cls: type, f: dataclasses.Field) -> _Kind:
    hint = typing.get_type_hints(cls)[f.name]
    optional = False
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        optional = len(rest) < len(args)
        if len(rest) != 1:
            raise TypeError(f"{cls.__name__}.{f.name}: unions other than X | None are not supported")
        hint = rest[0]
        args = typing.get_args(hint)
    if typing.get_origin(hint) in (list, tuple):
        if args[:1] != (str,):
            raise TypeError(f"{cls.__name__}.{f.name}: only list[str] lists are supported")
        return _Kind(str, optional, True)
    if hint not in (int, float, str, bool):
        raise TypeError(f"{cls.__name__}.{f.name}: type {hint!r} is not supported")
    return _Kind(hint, optional, False)


def _fields(cls: type) -> list[tuple[dataclasses.Field, _Kind]]:
    return [(f, _kind(cls, f)) for f in dataclasses.fields(cls) if f.init]


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _split_list(values: Any) -> list[str]:
    """``--models a,b c`` and ``models: [a, b]`` / ``models: a,b`` all give ``[a, b, c]``."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in str(v).split(",") if p.strip())
    return out


def _coerce(name: str, kind: _Kind, value: Any, source: str) -> Any:
    """A value from YAML (already typed) or from the command line (a string) as the field's type."""
    if value is None:
        return None
    if kind.is_list:
        return _split_list(value)
    base = kind.base
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(value, bool):
            raise ValueError(value)  # yes/no is not a number
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value) if not isinstance(value, str) else int(value.strip())
        if base is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise DDCFError(
            f"The option {name} in {source} is {value!r}, which is not a valid {base.__name__}.",
            f"give {name} a {base.__name__} value.",
        ) from None


# ---------------------------------------------------------------------------- parser
def build_parser(
    cls: type, prog: str | None = None, description: str | None = None, extra: Sequence[type] = ()
) -> argparse.ArgumentParser:
    """The parser of a config dataclass (plus the options of ``extra`` dataclasses that ``cls`` lacks)."""
    parser = argparse.ArgumentParser(prog=prog, description=" ".join((description or cls.__doc__ or "").split()))
    parser.add_argument("--config", default=None, metavar="FILE.yaml", help=CONFIG_HELP)
    seen: set[str] = set()
    for klass in (cls, *extra):
        group = parser if klass is cls else parser.add_argument_group(_first_sentence(klass))
        for f, kind in _fields(klass):
            if f.name in seen:
                continue
            seen.add(f.name)
            _add_option(group, f, kind)
    return parser


def _first_sentence(klass: type) -> str:
    return " ".join((klass.__doc__ or klass.__name__).split()).split(". ")[0].rstrip(".")


def _add_option(group, f: dataclasses.Field, kind: _Kind) -> None:
    meta = f.metadata
    default = _default(f)
    help_text = meta["help"]
    flag = f"--{f.name}"
    flags = (flag, *meta.get("aliases", ()))
    if kind.base is bool and not kind.optional:
        if default:
            group.add_argument(*flags, dest=f.name, action="store_true", default=True,
                               help=f"{help_text} (default: on)")
            group.add_argument(f"--no_{f.name}", dest=f.name, action="store_false", help=f"Turn {flag} off.")
        else:
            group.add_argument(*flags, dest=f.name, action="store_true", default=False, help=help_text)
        return
    if meta.get("positional"):  # e.g. `ddcf push matrix`: optional on the line, so a --config file may give it
        group.add_argument(f.name, nargs="*" if kind.is_list else "?", default=default,
                           metavar=meta.get("metavar") or f.name.upper(),
                           # a str default must pass argparse's choice check when the word is left out; None
                           # is never checked, so it is not listed (it would show as a choice in errors)
                           choices=[*meta["choices"], *([] if default is None else [default])]
                           if "choices" in meta and not kind.is_list else None,
                           help=f"{help_text} (a bare word; in a --config file: '{f.name}: ...')"
                           + (" (required)" if meta.get("required") else ""))
        return
    kw: dict[str, Any] = {"dest": f.name, "default": default, "metavar": meta.get("metavar")}
    if kind.is_list:
        kw.update(nargs="+", type=str)
        shown = ",".join(default) if default else "none"
    else:
        kw["type"] = lambda text, _f=f, _k=kind: _coerce(f"--{_f.name}", _k, text, "the command line")
        shown = "none" if default is None else default
    if "choices" in meta:
        kw["metavar"] = kw["metavar"] or "{" + ",".join(map(str, meta["choices"])) + "}"
        if not kind.is_list:  # list items may come comma-joined: validate() checks those
            kw["choices"] = list(meta["choices"])
    if meta.get("required"):
        kw["required"] = True
        help_text += " (required)"
    elif "default" not in help_text.lower():
        help_text += f" (default: {shown})"
    group.add_argument(*flags, help=help_text.replace("%", "%%"), **kw)


def load_yaml_config(path: str | Path, classes: Sequence[type]) -> dict:
    """Read ``--config FILE``; unknown keys and wrong types are errors that name the key."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DDCFError(f"The config file {p} given with --config does not exist.", "pass the path of a YAML file.")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise DDCFError(f"The config file {p} is not valid YAML ({first_line(exc)}).",
                        "fix the file (keys are option names, e.g. 'lamda: 0.5').") from None
    if not isinstance(data, dict):
        raise DDCFError(f"The config file {p} holds a {type(data).__name__}, not a mapping of option names.",
                        "write one 'option_name: value' line per option.")
    kinds = {f.name: kind for klass in classes for f, kind in _fields(klass)}
    # A flag's alias (an option's earlier name) is accepted as a key too, so a resolved config written before
    # the rename still repeats its run.
    aliases = {alias.lstrip("-"): f.name for klass in classes for f, _ in _fields(klass)
               for alias in f.metadata.get("aliases", ())}
    renamed = {}
    for key, value in data.items():
        name = aliases.get(str(key), key)
        if name in renamed:
            raise DDCFError(f"The config file {p} sets {name} twice: under that name and under its earlier name.",
                            f"keep one '{name}: ...' line.")
        renamed[name] = value
    data = renamed
    unknown = sorted(set(map(str, data)) - set(kinds))
    if unknown:
        raise DDCFError(
            f"The config file {p} sets {', '.join(unknown)}, which this command does not have. "
            f"Its options are: {', '.join(sorted(kinds))}.",
            "remove those keys or correct their spelling (use the option names without '--').",
        )
    return {k: _coerce(k, kinds[k], v, f"the config file {p}") for k, v in data.items()}


def parse_config(
    cls: type,
    argv: Sequence[str] | None = None,
    prog: str | None = None,
    description: str | None = None,
    extra: Sequence[type] = (),
) -> tuple[Any, dict]:
    """Parse flags (and ``--config``) into a validated ``cls`` instance.

    Returns ``(config, values)`` where ``values`` has every parsed option, including those
    of ``extra`` classes, so a front end that dispatches between configs can build another.
    """
    parser = build_parser(cls, prog, description, extra)
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--config", default=None)
    known, _ = peek.parse_known_args(argv)
    if known.config:
        from_file = load_yaml_config(known.config, (cls, *extra))
        parser.set_defaults(**from_file)
        for action in parser._actions:  # noqa: SLF001 - a value from the file satisfies a required flag
            if action.dest in from_file:
                action.required = False
    args = vars(parser.parse_args(argv))
    args.pop("config", None)
    for name, value in list(args.items()):
        if isinstance(value, list):
            args[name] = _split_list(value)
    return make_config(cls, args), args


def make_config(cls: type, values: dict) -> Any:
    """An instance of ``cls`` from ``values`` (extra keys ignored), validated."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return cls(**{k: v for k, v in values.items() if k in names}).validate()


def validate(config: Any) -> None:
    """Check every field's range, choices and required-ness, then the class's ``check()``."""
    for f, kind in _fields(type(config)):
        value = getattr(config, f.name)
        meta = f.metadata
        flag = f"the argument {f.name}" if meta.get("positional") else f"--{f.name}"
        if value is None:
            if meta.get("required"):
                raise DDCFError(f"{flag} is required.", f"pass {flag} (or set '{f.name}:' in the --config file).")
            continue
        if kind.is_list:
            bad = [v for v in value if "choices" in meta and v not in meta["choices"]]
            if bad:
                raise DDCFError(f"{flag} names {', '.join(map(repr, bad))}.",
                                f"use one or more of {', '.join(map(str, meta['choices']))}.")
            continue
        if "choices" in meta and value not in meta["choices"]:
            raise DDCFError(f"{flag} is {value!r}.", f"pass one of {', '.join(map(str, meta['choices']))}.")
        if kind.base in (int, float):
            if isinstance(value, float) and not math.isfinite(value):
                raise DDCFError(f"{flag} is {value}.", f"pass a finite number for {flag}.")
            for key, bad, word in (("min", value < meta.get("min", -math.inf), ">="),
                                   ("min_excl", value <= meta.get("min_excl", -math.inf), ">"),
                                   ("max", value > meta.get("max", math.inf), "<="),
                                   ("max_excl", value >= meta.get("max_excl", math.inf), "<")):
                if key in meta and bad:
                    raise DDCFError(f"{flag} is {value}; it must be {word} {meta[key]}.",
                                    f"pass {flag} {word} {meta[key]}.")
    config.check()


# ---------------------------------------------------------------------------- resolved config
def resolved_yaml(config: Any, stage: str, command: str) -> str:
    import yaml

    values = config.to_dict(include_run_only=False)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    header = (
        f"# Options of `{command}` (stage '{stage}'), resolved {stamp}.\n"
        f"# Repeat the run with: {command} --config <this file> [--workdir DIR]\n"
    )
    return header + yaml.safe_dump(values, sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_resolved_config(config: Any, path: str | Path, stage: str, command: str) -> Path:
    from ddcf.io import write_text

    return write_text(resolved_yaml(config, stage, command), path)
