"""Check that each GPU environment's lock file (requirements/gpu-*.txt) plus ddcf installs on Linux x86-64.

    python scripts/check_gpu_envs.py            # offline, < 1 s: every lock against the recorded metadata
    python scripts/check_gpu_envs.py --resolve  # ask uv's resolver (PyPI, metadata only, ~5 s per lock)
    python scripts/check_gpu_envs.py --lock     # recompile requirements/gpu-*.in into the locks (uv)
    python scripts/check_gpu_envs.py --record   # record every locked package's Requires-Dist (PyPI, ~1 min)

The offline check (also a unit test) reads requirements/engine_metadata.json, the Requires-Dist of every package
pinned in a lock as its Linux x86-64 / CPython 3.11 wheel declares it, and fails when a pin breaks a requirement of
another locked package (say transformers==5.23.0 next to vllm 0.33.0, which needs <5.21), when a requirement of
ddcf (pyproject.toml's dependencies and the environment's extra) is not met, when the extra's pins and the lock
differ, or when the .in's pins and the lock differ.  --resolve hands the lock plus ddcf's requirements to
``uv pip compile`` for the lock's platform and Python 3.11 and fails unless uv resolves them to exactly the lock:
uv reads wheel metadata through HTTP range requests, so it never downloads the multi-GB CUDA wheels (measured:
about 80 MB of index pages and metadata for all three locks, cold cache).  uv is found on PATH or as $UV
(``pip install uv``).  The markers are evaluated for linux / x86_64 / CPython 3.11 with no extra, so requirements
behind a package's extras are checked by --resolve only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQ_DIR = ROOT / "requirements"
METADATA = REQ_DIR / "engine_metadata.json"
# environment -> the pyproject extra installed in it (the lock is requirements/gpu-<env>.txt)
ENVS = {"vllm": "vllm", "sglang": "sglang", "train": "train"}
PYTHON = (3, 11)
MARKER_ENV = {
    "python_version": "3.11", "python_full_version": "3.11.11", "os_name": "posix", "sys_platform": "linux",
    "platform_system": "Linux", "platform_machine": "x86_64", "platform_release": "", "platform_version": "",
    "implementation_name": "cpython", "platform_python_implementation": "CPython", "implementation_version": "3.11.11",
    "extra": "",
}
INDEX = os.environ.get("DDCF_INDEX_URL", "https://pypi.org/simple")
COMPILE_COMMAND = "python scripts/check_gpu_envs.py --lock"


def applies(req: Requirement) -> bool:
    return req.marker is None or req.marker.evaluate(MARKER_ENV)


def read_pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file -> {canonical name: version}; comments/options skipped."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        spec = [s for s in req.specifier if s.operator == "=="]
        if len(spec) != 1:
            raise SystemExit(f"{path}: '{line}' is not an exact pin (name==version)")
        pins[canonicalize_name(req.name)] = spec[0].version
    return pins


def platform_of(in_file: Path) -> str:
    m = re.search(r"^# platform: (\S+)", in_file.read_text(), re.M)
    return m.group(1) if m else "x86_64-manylinux_2_28"


def ddcf_requirements(extra: str, pyproject: Path = ROOT / "pyproject.toml") -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    return reqs + [Requirement(r) for r in project.get("optional-dependencies", {}).get(extra, [])]


def satisfied(req: Requirement, pins: dict[str, str]) -> str | None:
    """None when the pins meet ``req`` (marker false counts as met), else what is wrong."""
    if not applies(req):
        return None
    have = pins.get(canonicalize_name(req.name))
    if have is None:
        return f"needs {req} but the lock has no {req.name}"
    if not req.specifier.contains(Version(have), prereleases=True):
        return f"needs {req.name}{req.specifier} but the lock pins {req.name}=={have}"
    return None


def check_env(env: str, req_dir: Path, metadata: dict, pyproject: Path) -> list[str]:
    """Every problem of one environment's lock, offline."""
    lock, in_file = req_dir / f"gpu-{env}.txt", req_dir / f"gpu-{env}.in"
    if not lock.is_file():
        return [f"{lock.name}: missing (python scripts/check_gpu_envs.py --lock)"]
    pins = read_pins(lock)
    problems = []
    for name, version in read_pins(in_file).items():
        if pins.get(name) != version:
            problems.append(f"{lock.name}: {in_file.name} pins {name}=={version}, the lock {pins.get(name)} "
                            "(recompile with --lock)")
    for req in ddcf_requirements(ENVS[env], pyproject):
        if (why := satisfied(req, pins)) is not None:
            problems.append(f"{lock.name}: ddcf {why}")  # the extras pin exactly: this is their agreement
    packages = metadata.get("packages", {})
    for name, version in sorted(pins.items()):
        key = f"{name}=={version}"
        if key not in packages:
            problems.append(f"{lock.name}: no recorded metadata for {key} (python scripts/check_gpu_envs.py --record)")
            continue
        for line in packages[key] or []:  # None: only an sdist, checked by --resolve alone
            if (why := satisfied(Requirement(line), pins)) is not None:
                problems.append(f"{lock.name}: {key} {why}")
    return problems


def check_all(req_dir: Path = REQ_DIR, metadata_path: Path = METADATA, pyproject: Path = ROOT / "pyproject.toml",
              envs=tuple(ENVS)) -> list[str]:
    if not metadata_path.is_file():
        return [f"{metadata_path} missing (python scripts/check_gpu_envs.py --record)"]
    metadata = json.loads(metadata_path.read_text())
    return [p for env in envs for p in check_env(env, req_dir, metadata, pyproject)]


# ---- online: uv ----------------------------------------------------------------------------------------------


def uv_binary() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        raise SystemExit("check_gpu_envs: uv not found; `pip install uv` (or set UV=/path/to/uv)")
    return uv


def uv_compile(inputs: list[Path], platform: str, out: Path) -> subprocess.CompletedProcess:
    cmd = [uv_binary(), "pip", "compile", *map(str, inputs), "-o", str(out), "--python-platform", platform,
           "--python-version", f"{PYTHON[0]}.{PYTHON[1]}", "--index-url", INDEX, "--quiet",
           "--custom-compile-command", COMPILE_COMMAND]
    return subprocess.run(cmd, capture_output=True, text=True)


def lock_env(env: str) -> None:
    in_file, lock = REQ_DIR / f"gpu-{env}.in", REQ_DIR / f"gpu-{env}.txt"
    with tempfile.TemporaryDirectory() as tmp:
        # compile from a copy so that the lock's "via" comments name the .in, not a temporary path
        done = subprocess.run([uv_binary(), "pip", "compile", in_file.name, "-o", lock.name, "--python-platform",
                               platform_of(in_file), "--python-version", f"{PYTHON[0]}.{PYTHON[1]}", "--index-url",
                               INDEX, "--quiet", "--custom-compile-command", COMPILE_COMMAND, "--cache-dir",
                               os.environ.get("UV_CACHE_DIR", str(Path(tmp) / "cache"))],
                              capture_output=True, text=True, cwd=REQ_DIR)
    if done.returncode != 0:
        raise SystemExit(f"check_gpu_envs --lock {env}: uv could not resolve {in_file.name}:\n{done.stderr}")
    print(f"wrote {lock.relative_to(ROOT)} ({len(read_pins(lock))} packages)")


def resolve_env(env: str) -> list[str]:
    """uv's verdict on lock + ddcf: [] when it resolves to exactly the lock's pins."""
    lock = REQ_DIR / f"gpu-{env}.txt"
    pins = read_pins(lock)
    with tempfile.TemporaryDirectory() as tmp:
        ddcf_in = Path(tmp) / "ddcf.in"
        ddcf_in.write_text("".join(f"{r}\n" for r in ddcf_requirements(ENVS[env])))
        out = Path(tmp) / "out.txt"
        done = uv_compile([lock, ddcf_in], platform_of(REQ_DIR / f"gpu-{env}.in"), out)
        if done.returncode != 0:
            return [f"{lock.name} + ddcf[{ENVS[env]}] does not resolve:\n{done.stderr.strip()}"]
        got = read_pins(out)
    extra = sorted(set(got) - set(pins))
    changed = sorted(n for n in set(got) & set(pins) if got[n] != pins[n])
    problems = [f"{lock.name}: uv adds {n}=={got[n]} (recompile with --lock)" for n in extra]
    return problems + [f"{lock.name}: uv picks {n}=={got[n]} for the lock's {pins[n]}" for n in changed]


# ---- --record: Requires-Dist of each pinned wheel, read through HTTP range requests -----------------------------


class _RangeFile(io.RawIOBase):
    """A read-only remote file: zipfile seeks to the central directory and reads METADATA, a few KB in all."""

    def __init__(self, url: str, block: int = 1 << 16):
        self.url, self.block, self.pos, self.cache = url, block, 0, {}
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=-1"}), timeout=60) as r:
            self.size = int(r.headers["Content-Range"].rsplit("/", 1)[1])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def _block(self, i: int) -> bytes:
        if i not in self.cache:
            lo, hi = i * self.block, min(self.size, (i + 1) * self.block) - 1
            req = urllib.request.Request(self.url, headers={"Range": f"bytes={lo}-{hi}"})
            with urllib.request.urlopen(req, timeout=60) as r:
                self.cache[i] = r.read()
        return self.cache[i]

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = bytearray()
        while self.pos < end:
            i, off = divmod(self.pos, self.block)
            chunk = self._block(i)[off: off + end - self.pos]
            out += chunk
            self.pos += len(chunk)
        return bytes(out)


def _target_tags() -> list:
    plats = [f"manylinux_2_{m}_x86_64" for m in range(34, 16, -1)]
    plats += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    return list(cpython_tags(PYTHON, abis=["cp311", "abi3", "none"], platforms=plats)) + list(
        compatible_tags(PYTHON, "cp311", plats))


def wheel_url(name: str, version: str) -> str | None:
    """The URL of name==version's best wheel for Linux x86-64 / CPython 3.11; None when there is only an sdist."""
    req = urllib.request.Request(f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        files = json.load(r)["files"]
    rank = {t: i for i, t in enumerate(_target_tags())}
    best = None
    for f in files:
        if not f["filename"].endswith(".whl"):
            continue
        try:
            _, fver, _, tags = parse_wheel_filename(f["filename"])
        except InvalidWheelFilename:  # ancient uploads (e.g. "py36+") cannot be our pin anyway
            continue
        score = min((rank[t] for t in tags if t in rank), default=None)
        if fver == Version(version) and score is not None and (best is None or score < best[0]):
            best = (score, f["url"])
    return None if best is None else best[1]


def remote_wheel(name: str, version: str) -> zipfile.ZipFile | None:
    """name==version's wheel opened in place: members are read through HTTP range requests, never the whole file."""
    url = wheel_url(name, version)
    return None if url is None else zipfile.ZipFile(_RangeFile(url))


def wheel_requires(name: str, version: str) -> list[str] | None:
    """Requires-Dist (markers true here, no extra) of name==version's best Linux wheel; None when only an sdist."""
    z = remote_wheel(name, version)
    if z is None:
        return None
    with z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        msg = Parser().parsestr(z.read(meta).decode("utf-8"))
    return [r for r in msg.get_all("Requires-Dist") or [] if applies(Requirement(r))]


def record() -> None:
    keys = sorted({(n, v) for env in ENVS for n, v in read_pins(REQ_DIR / f"gpu-{env}.txt").items()})
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda nv: wheel_requires(*nv), keys))
    data = {"about": "Requires-Dist of every package pinned in requirements/gpu-*.txt, as its Linux x86-64 "
                     "CPython 3.11 wheel declares it (markers evaluated there, no extra); null: sdist only. "
                     "Written by python scripts/check_gpu_envs.py --record.",
            "packages": {f"{n}=={v}": r for (n, v), r in zip(keys, got)}}
    METADATA.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"wrote {METADATA.relative_to(ROOT)} ({len(keys)} packages, {sum(r is None for r in got)} sdist-only)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resolve", action="store_true", help="ask uv whether each lock plus ddcf resolves (network)")
    g.add_argument("--lock", action="store_true", help="recompile requirements/gpu-*.in into the locks (network)")
    g.add_argument("--record", action="store_true", help="record the locked packages' metadata (network)")
    p.add_argument("--env", action="append", choices=sorted(ENVS), help="only these environments")
    a = p.parse_args(argv)
    envs = a.env or list(ENVS)
    if a.lock:
        for env in envs:
            lock_env(env)
        return 0
    if a.record:
        record()
        return 0
    problems = [q for env in envs for q in resolve_env(env)] if a.resolve else check_all(envs=tuple(envs))
    for q in problems:
        print(f"FAIL {q}")
    what = "resolve with uv" if a.resolve else "agree with the recorded metadata"
    print(f"check_gpu_envs: {len(problems)} problem(s)" if problems else f"check_gpu_envs: {len(envs)} lock(s) {what}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
