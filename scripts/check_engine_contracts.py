"""Check every call ddcf makes into vllm, sglang, TRL, peft and accelerate against the pinned versions' own source.

    python scripts/check_engine_contracts.py                    # all engines (network: reads vllm/sglang wheels)
    python scripts/check_engine_contracts.py --engine trl       # only TRL/peft/accelerate (installed, offline)
    python scripts/check_engine_contracts.py --src DIR          # scratch folder for the engines' source files

The list of call sites is CONTRACTS below, in this one place.  For each it takes the names ddcf uses from ddcf's own
source (keywords of the call, keys of the kwargs dict a function builds, attributes a parser reads), so the list
cannot drift from the code, and the names the engine accepts from the engine's source: parameters of a function,
fields of a dataclass / msgspec Struct / TypedDict, attributes assigned in a class.  The engine is never imported:
vllm and sglang are read with ``ast`` from the wheel that the lock pins (requirements/gpu-<engine>.txt), fetched
without dependencies and only in part (HTTP range requests read just the named members of the wheel, about 3 MB of
vllm's 336 MB); TRL, peft and accelerate are the training lock's versions, inspected in this interpreter, and their
installed versions must equal the lock's.  Exit status 1 when any name is missing, with file:function and name.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.metadata
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_gpu_envs as envs

ROOT = envs.ROOT

# ---- the names ddcf uses, read from ddcf's source ----------------------------------------------------------------


def _function(path: str, qualname: str) -> ast.AST:
    node: ast.AST = ast.parse((ROOT / path).read_text())
    for part in qualname.split("."):
        node = next(n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
    return node


def dict_keys(path: str, func: str) -> set[str]:
    """Keys of the kwargs dict ``func`` builds: ``dict(a=...)``, ``{"a": ...}``, ``kw["a"] = ...``."""
    keys = set()
    for n in ast.walk(_function(path, func)):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "dict":
            keys |= {k.arg for k in n.keywords if k.arg}
        elif isinstance(n, ast.Dict):
            keys |= {k.value for k in n.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant):
                    keys.add(t.slice.value)
    return keys


def call_keywords(path: str, func: str, callee: str) -> set[str]:
    """Keyword names of every call to ``callee`` (a name or attribute) inside ``func``."""
    keys = set()
    for n in ast.walk(_function(path, func)):
        if isinstance(n, ast.Call):
            name = n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", None)
            if name == callee:
                keys |= {k.arg for k in n.keywords if k.arg}
    return keys


def reads(path: str, func: str, names: set[str]) -> set[str]:
    """``names`` (attributes / keys a parser reads), each checked to occur in ``func``: a stale list fails."""
    found = set()
    for n in ast.walk(_function(path, func)):
        if isinstance(n, ast.Attribute):
            found.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            found.add(n.value)
    stale = names - found
    if stale:
        raise SystemExit(f"check_engine_contracts: {path}:{func} no longer reads {sorted(stale)}; update CONTRACTS")
    return names


# ---- the names an engine accepts, read from its source (ast) or inspected -----------------------------------------


class Source:
    """Members of one pinned wheel, read in part and kept under a scratch folder."""

    def __init__(self, dist: str, env: str, scratch: Path):
        self.dist, self.version = dist, envs.read_pins(envs.REQ_DIR / f"gpu-{env}.txt")[dist]
        self.dir = scratch / f"{dist}-{self.version}"
        self._zip = None

    def path(self, member: str) -> Path:
        out = self.dir / member
        if not out.is_file():
            if self._zip is None:
                self._zip = envs.remote_wheel(self.dist, self.version)
            names = [member] if not member.endswith("/") else [
                n for n in self._zip.namelist() if n.startswith(member) and n.endswith(".py")]
            for name in names:
                (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
                (self.dir / name).write_bytes(self._zip.read(name))
        return out

    def tree(self, member: str) -> ast.Module:
        return ast.parse(self.path(member).read_text())


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    found = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name]
    if not found:
        raise SystemExit(f"check_engine_contracts: no class {name} in the engine source")
    return found[0]


def ast_params(src: Source, member: str, qualname: str) -> set[str]:
    cls, meth = qualname.split(".")
    fn = next(n for n in _class(src.tree(member), cls).body if isinstance(n, ast.FunctionDef) and n.name == meth)
    a = fn.args
    return {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs} - {"self", "cls"}


def ast_fields(src: Source, member: str, name: str, attrs: bool = False) -> set[str]:
    """Class-level annotated fields (dataclass, msgspec Struct, TypedDict, pydantic), with bases of the same file;
    ``attrs``: also ``self.x = ...`` in its methods and its method/property names."""
    tree = src.tree(member)
    cls = _class(tree, name)
    out = {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    if attrs:
        for n in ast.walk(cls):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self" \
                    and isinstance(n.ctx, ast.Store):
                out.add(n.attr)
        out |= {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    local = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in local and base.id != name:
            out |= ast_fields(src, member, base.id, attrs)
    return out


def ast_namespace_fields(src: Source, member: str, listing: str, fields_dir: str) -> set[str]:
    """sglang's ServerArgs: the fields of the namespace classes that ``member`` lists in ``listing``."""
    names = next(n.value for n in ast.walk(src.tree(member)) if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == listing for t in n.targets))
    wanted = {e.id for e in names.elts}
    src.path(fields_dir)
    out, seen = set(), set()
    for py in sorted((src.dir / fields_dir).glob("*.py")):
        for cls in (n for n in ast.walk(ast.parse(py.read_text())) if isinstance(n, ast.ClassDef)):
            if cls.name in wanted:
                seen.add(cls.name)
                out |= {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)
                        and isinstance(n.target, ast.Name)}
    if seen != wanted:
        raise SystemExit(f"check_engine_contracts: namespaces {sorted(wanted - seen)} not found under {fields_dir}")
    return out


def ast_strings(src: Source, member: str) -> set[str]:
    return {n.value for n in ast.walk(src.tree(member)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def inspect_fields(obj) -> set[str]:
    return {f.name for f in dataclasses.fields(obj)}


def inspect_params(fn) -> set[str]:
    return set(inspect.signature(fn).parameters) - {"self"}


def yaml_keys(path: str, sub: str | None = None) -> set[str]:
    import yaml

    data = yaml.safe_load((ROOT / path).read_text())
    return set(data[sub] if sub else data)


def accelerate_deepspeed_keys() -> set[str]:
    """The deepspeed_config keys accelerate's own config writer sets (accelerate/commands/config/cluster.py)."""
    import accelerate.commands.config.cluster as cluster

    keys = set()
    for n in ast.walk(ast.parse(Path(cluster.__file__).read_text())):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == "deepspeed_config" \
                and isinstance(n.slice, ast.Constant):
            keys.add(n.slice.value)
    return keys


# ---- the contracts: one line per call site ------------------------------------------------------------------------


@dataclass
class Contract:
    engine: str  # vllm | sglang | train
    site: str  # ddcf file:function (what the report names)
    target: str  # what it calls into
    used: Callable[[], set[str]]
    accepted: Callable[[dict], set[str]]  # sources -> accepted names
    note: str = field(default="")


V, S = "ddcf/runs/backends/vllm.py", "ddcf/runs/backends/sglang.py"
LP, SFT = "ddcf/score/logprobs.py", "ddcf/sft/stage.py"
CONTRACTS = [
    Contract("vllm", f"{V}:llm_kwargs", "vllm.LLM(**kwargs): its parameters, the rest go to EngineArgs",
             lambda: dict_keys(V, "llm_kwargs"),
             lambda s: ast_params(s["vllm"], "vllm/entrypoints/llm.py", "LLM.__init__")
             | ast_fields(s["vllm"], "vllm/engine/arg_utils.py", "EngineArgs")),
    Contract("vllm", f"{V}:sampling_kwargs", "vllm.SamplingParams fields",
             lambda: dict_keys(V, "sampling_kwargs"),
             lambda s: ast_fields(s["vllm"], "vllm/sampling_params.py", "SamplingParams")),
    Contract("vllm", f"{LP}:vllm_sampling_kwargs", "vllm.SamplingParams fields",
             lambda: dict_keys(LP, "vllm_sampling_kwargs"),
             lambda s: ast_fields(s["vllm"], "vllm/sampling_params.py", "SamplingParams")),
    Contract("vllm", f"{V}:build_requests / {LP}:vllm_request", "vllm.inputs.TokensPrompt keys",
             lambda: dict_keys(V, "build_requests") | dict_keys(LP, "vllm_request"),
             lambda s: ast_fields(s["vllm"], "vllm/inputs/llm.py", "TokensPrompt")),
    Contract("vllm", f"{V}:VLLMBackend.generate / {LP}:vllm_logprobs", "vllm.LLM.generate parameters",
             lambda: call_keywords(V, "VLLMBackend.generate", "generate") | call_keywords(LP, "vllm_logprobs",
                                                                                          "generate"),
             lambda s: ast_params(s["vllm"], "vllm/entrypoints/llm.py", "LLM.generate")),
    Contract("vllm", f"{V}:parse_outputs / {LP}:parse_prompt_logprobs", "vllm.RequestOutput attributes",
             lambda: reads(V, "parse_outputs", {"prompt_token_ids", "outputs"})
             | reads(LP, "parse_prompt_logprobs", {"prompt_logprobs"}),
             lambda s: ast_fields(s["vllm"], "vllm/outputs.py", "RequestOutput", attrs=True)),
    Contract("vllm", f"{V}:parse_outputs", "vllm.CompletionOutput fields",
             lambda: reads(V, "parse_outputs", {"index", "text", "token_ids", "finish_reason"}),
             lambda s: ast_fields(s["vllm"], "vllm/outputs.py", "CompletionOutput")),
    Contract("vllm", f"{LP}:_logprob", "vllm.logprobs.Logprob fields (prompt_logprobs: None, then {id: Logprob})",
             lambda: reads(LP, "_logprob", {"logprob"}),
             lambda s: ast_fields(s["vllm"], "vllm/logprobs.py", "Logprob")),
    Contract("vllm", f"{V}:VLLMBackend.context_limit", "LLM.llm_engine, LLMEngine.model_config, ModelConfig",
             lambda: reads(V, "VLLMBackend.context_limit", {"llm_engine", "model_config", "max_model_len"}),
             lambda s: ast_fields(s["vllm"], "vllm/entrypoints/llm.py", "LLM", attrs=True)
             | ast_fields(s["vllm"], "vllm/v1/engine/llm_engine.py", "LLMEngine", attrs=True)
             | ast_fields(s["vllm"], "vllm/config/model.py", "ModelConfig")),
    Contract("sglang", f"{S}:engine_kwargs", "sglang.Engine(**kwargs) -> ServerArgs fields",
             lambda: dict_keys(S, "engine_kwargs"),
             lambda s: ast_namespace_fields(s["sglang"], "sglang/srt/server_args.py", "_INPUT_NAMESPACES",
                                            "sglang/srt/arg_groups/fields/")),
    Contract("sglang", f"{S}:sampling_params", "sglang SamplingParams fields",
             lambda: dict_keys(S, "sampling_params"),
             lambda s: ast_fields(s["sglang"], "sglang/srt/sampling/sampling_params.py", "SamplingParams")),
    Contract("sglang", f"{S}:SGLangBackend.generate", "sglang.Engine.generate parameters",
             lambda: call_keywords(S, "SGLangBackend.generate", "generate"),
             lambda s: ast_params(s["sglang"], "sglang/srt/entrypoints/engine.py", "Engine.generate")),
    Contract("sglang", f"{S}:SGLangBackend.close", "sglang.Engine methods",
             lambda: reads(S, "SGLangBackend.close", {"shutdown"}),
             lambda s: ast_fields(s["sglang"], "sglang/srt/entrypoints/engine.py", "Engine", attrs=True)),
    Contract("sglang", f"{S}:parse_outputs", "keys of sglang's generate outputs (tokenizer_manager's strings)",
             lambda: reads(S, "parse_outputs", {"text", "meta_info", "prompt_tokens", "completion_tokens",
                                               "finish_reason"}),
             lambda s: ast_strings(s["sglang"], "sglang/srt/managers/tokenizer_manager.py")),
    Contract("train", f"{SFT}:_build_trainer", "trl.SFTConfig fields",
             lambda: call_keywords(SFT, "_build_trainer", "TRLConfig"),
             lambda s: inspect_fields(__import__("trl").SFTConfig)),
    Contract("train", f"{SFT}:_build_trainer", "trl.SFTTrainer parameters",
             lambda: call_keywords(SFT, "_build_trainer", "SFTTrainer"),
             lambda s: inspect_params(__import__("trl").SFTTrainer.__init__)),
    Contract("train", f"{SFT}:_build_trainer", "peft.LoraConfig fields",
             lambda: call_keywords(SFT, "_build_trainer", "LoraConfig"),
             lambda s: inspect_fields(__import__("peft").LoraConfig)),
    Contract("train", "train/accelerate/*.yaml", "accelerate ClusterConfig fields",
             lambda: yaml_keys("train/accelerate/single_gpu.yaml") | yaml_keys("train/accelerate/zero3_8gpu.yaml"),
             lambda s: inspect_fields(__import__("accelerate.commands.config.config_args",
                                                 fromlist=["ClusterConfig"]).ClusterConfig)),
    Contract("train", "train/accelerate/zero3_8gpu.yaml:deepspeed_config", "accelerate's deepspeed_config keys",
             lambda: yaml_keys("train/accelerate/zero3_8gpu.yaml", "deepspeed_config"),
             lambda s: accelerate_deepspeed_keys()),
]
TRAIN_DISTS = ("trl", "peft", "accelerate")


def check(engines: list[str], scratch: Path, log=print) -> list[str]:
    problems = []
    sources = {e: Source(e, e, scratch) for e in engines if e in ("vllm", "sglang")}
    if "train" in engines:
        pins = envs.read_pins(envs.REQ_DIR / "gpu-train.txt")
        for dist in TRAIN_DISTS:
            have = importlib.metadata.version(dist)
            if have != pins[dist]:
                problems.append(f"{dist} {have} is installed here, the training lock pins {pins[dist]}: "
                                "run this in the training environment (make gpu-env ENGINE=train)")
    for e, src in sources.items():
        log(f"{e}=={src.version}: source under {src.dir}")
    for c in CONTRACTS:
        if c.engine not in engines:
            continue
        used, accepted = c.used(), c.accepted(sources)
        missing = sorted(used - accepted)
        for name in missing:
            problems.append(f"{c.site}: '{name}' is not in {c.target}")
        log(f"{'FAIL' if missing else 'ok  '} {c.engine:6s} {c.site} -> {c.target}: {len(used)} name(s)"
            + (f", missing {missing}" if missing else ""))
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--engine", action="append", choices=["vllm", "sglang", "train"],
                   help="only these (default: all); 'train' is TRL, peft and accelerate")
    p.add_argument("--src", "--download", dest="src", default="/tmp/ddcf_contracts",
                   help="scratch folder for the engines' source files (default %(default)s)")
    a = p.parse_args(argv)
    problems = check(a.engine or ["vllm", "sglang", "train"], Path(a.src))
    for q in problems:
        print(f"FAIL {q}")
    print(f"check_engine_contracts: {len(problems)} problem(s)" if problems else "check_engine_contracts: all names "
          "ddcf uses exist in the pinned engines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
