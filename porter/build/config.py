"""What `porter build` builds with: porter.toml's [build] section, defaults, and the compiler found.

[build]
arch = "arm64"                       # arm64 | arm32 | x86_64; default from the paths the series touches
cross_compile = "aarch64-linux-gnu-" # or cc = "/path/to/aarch64-linux-gnu-gcc"
config = ["CONFIG_IPMMU_VMSA=y"]     # appended to the defconfig before the build is configured
timeout = 300                        # seconds one make may take
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from ..errors import BadInput
from ..sandbox import SYSTEM_PATH

DEFAULT_TIMEOUT = 300
_SAFE_WORD = re.compile(r"^[\w./+=,:-]+$")
_CONFIG_LINE = re.compile(r"^CONFIG_[A-Za-z0-9_]+=(y|n|m|-?\d+|0x[0-9a-fA-F]+|\"[^\"\n]*\")$|^# CONFIG_[A-Za-z0-9_]+ is not set$")


@dataclass(frozen=True)
class Arch:
    name: str            # XEN_TARGET_ARCH
    cpu: str             # first word of the compiler's target triplet
    prefixes: tuple[str, ...]
    package: str         # the Debian package of its cross compiler


ARCHES = {
    "arm64": Arch("arm64", "aarch64", ("aarch64-linux-gnu-", "aarch64-none-linux-gnu-", "aarch64-none-elf-",
                                       "aarch64-elf-", "aarch64-unknown-linux-gnu-"), "gcc-aarch64-linux-gnu"),
    "arm32": Arch("arm32", "arm", ("arm-linux-gnueabihf-", "arm-linux-gnueabi-", "arm-none-eabi-"),
                  "gcc-arm-linux-gnueabihf"),
    "x86_64": Arch("x86_64", "x86_64", ("x86_64-linux-gnu-",), "gcc-x86-64-linux-gnu"),
}
_HOST = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_ARCH_PATHS = (("xen/arch/arm/", "arm64"), ("xen/drivers/passthrough/arm/", "arm64"),
               ("xen/arch/x86/", "x86_64"), ("xen/drivers/passthrough/x86/", "x86_64"),
               ("xen/drivers/passthrough/vtd/", "x86_64"), ("xen/drivers/passthrough/amd/", "x86_64"))


@dataclass(frozen=True)
class BuildConfig:
    arch: Arch
    cc: tuple[str, ...]            # the compiler command (argv)
    cross_compile: str             # CROSS_COMPILE for Xen's other tools ("" when unknown)
    options: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    version: str = field(default="", compare=False)

    def make_vars(self) -> list[str]:
        """The make variables that select the target, the compiler and the Python Xen's build runs
        (Config.mk's default `python` is often not on the sandbox's system PATH)."""
        out = [f"XEN_TARGET_ARCH={self.arch.name}", f"CROSS_COMPILE={self.cross_compile}",
               "CC=" + " ".join(self.cc), f"PYTHON={python()}"]
        if "clang" in self.cc[0].rsplit("/", 1)[-1] or "zig" in " ".join(self.cc):
            out.append("clang=y")
        return out

    def tools(self) -> list[str]:
        """The compiler and the binutils make calls, as found on PATH."""
        found = [shutil.which(self.cc[0])] + [shutil.which(self.cross_compile + t) for t in ("gcc", "ld", "objcopy")]
        return list(dict.fromkeys(os.path.abspath(f) for f in found if f))

    def tool_dirs(self) -> tuple[str, ...]:
        """Their folders: the PATH make gets in the sandbox."""
        return tuple(dict.fromkeys(os.path.dirname(t) for t in self.tools()))

    def tool_roots(self) -> tuple[str, ...]:
        """What the sandbox must show of the toolchains: the folder of each tool (and of what it links
        to), or for a `bin` folder its installation (libexec, lib, sysroot), never a home folder or /."""
        home = os.path.realpath(os.path.expanduser("~"))
        roots = []
        for tool in self.tools():
            for folder in dict.fromkeys((os.path.dirname(tool), os.path.dirname(os.path.realpath(tool)))):
                parent = os.path.dirname(folder)
                roots.append(parent if os.path.basename(folder) == "bin" and parent not in (home, "/") else folder)
        return tuple(dict.fromkeys(roots))

    def describe(self) -> str:
        """The compiler command and the version line it prints."""
        return f"{' '.join(self.cc)}: {self.version}" if self.version else " ".join(self.cc)


class NoCompiler(BadInput):
    """No compiler for the target: the build is skipped where it is optional."""


def python() -> str:
    """The system's python3 (what the sandbox shows anyway), else the interpreter porter runs on."""
    return shutil.which("python3", path=SYSTEM_PATH) or sys.executable


def host_arch() -> str | None:
    return _HOST.get(platform.machine().lower())


def default_arch(touched: list[str]) -> str:
    for path in touched:
        for prefix, arch in _ARCH_PATHS:
            if path.startswith(prefix):
                return arch
    return host_arch() or "x86_64"


def section(config: dict) -> dict:
    raw = config.get("build", {})
    if not isinstance(raw, dict):
        raise BadInput("porter.toml: [build] must be a table")
    known = {"arch", "cross_compile", "cc", "config", "timeout"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BadInput(f"porter.toml: unknown [build] key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return raw


def configured(config: dict) -> bool:
    """Whether porter.toml names a compiler (then a missing one is an error, not a skipped build)."""
    raw = section(config)
    return "cc" in raw or "cross_compile" in raw


def resolve(config: dict, touched: list[str]) -> BuildConfig:
    """The build configuration; NoCompiler (one line: what to install or set) when there is no compiler."""
    raw = section(config)
    name = raw.get("arch") or default_arch(touched)
    if name not in ARCHES:
        raise BadInput(f"porter.toml: [build] arch {name!r} is not one of {', '.join(ARCHES)}")
    arch = ARCHES[name]
    options = tuple(_options(raw.get("config", [])))
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise BadInput(f"porter.toml: [build] timeout {timeout!r} must be a positive number of seconds")
    cc, prefix = _compiler(raw, arch)
    version = _check_target(cc, arch, raw)
    return BuildConfig(arch, cc, prefix, options, float(timeout), version)


def _options(values) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadInput("porter.toml: [build] config must be a list of strings like \"CONFIG_FOO=y\"")
    for v in values:
        if not _CONFIG_LINE.match(v):
            raise BadInput(f"porter.toml: [build] config entry {v!r} is not a Kconfig line (CONFIG_NAME=value)")
    return values


def _words(text: str, what: str) -> tuple[str, ...]:
    words = tuple(text.split())
    if not words or not all(_SAFE_WORD.match(w) for w in words):
        raise BadInput(f"porter.toml: [build] {what} {text!r} is not a plain command (letters, digits, ./+=,:-)")
    return words


def _compiler(raw: dict, arch: Arch) -> tuple[tuple[str, ...], str]:
    if "cc" in raw:
        cc = _words(str(raw["cc"]), "cc")
        if not shutil.which(cc[0]):
            raise NoCompiler(f"[build] cc {raw['cc']!r} in porter.toml is not an executable on PATH")
        base = cc[0].rsplit("/", 1)[-1]
        prefix = raw.get("cross_compile") or (base[:-3] if base.endswith("-gcc") else "")
        return cc, prefix
    if "cross_compile" in raw:
        prefix = str(raw["cross_compile"])
        _words(prefix, "cross_compile")
        if not shutil.which(prefix + "gcc"):
            raise NoCompiler(f"[build] cross_compile {prefix!r} in porter.toml: {prefix}gcc is not on PATH "
                             f"(apt-get install {arch.package})")
        return (prefix + "gcc",), prefix
    candidates = list(arch.prefixes)
    if host_arch() == arch.name:
        candidates.insert(0, "")
    for prefix in candidates:
        if shutil.which(prefix + "gcc"):
            return (shutil.which(prefix + "gcc"),), prefix
    raise NoCompiler(f"no {arch.cpu} cross compiler for the {arch.name} Xen build on PATH: install one "
                     f"(apt-get install {arch.package}) or set [build] cross_compile or cc in porter.toml")


def _check_target(cc: tuple[str, ...], arch: Arch, raw: dict) -> str:
    """The compiler's version line, once it is known to target arch."""
    what = f"[build] cc {raw['cc']!r}" if "cc" in raw else f"compiler {' '.join(cc)!r}"
    try:
        proc = subprocess.run([*cc, "-dumpmachine"], capture_output=True, text=True, timeout=60)
        version = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInput(f"{what} does not run: {exc}") from None
    target = proc.stdout.strip()
    cpu = target.split("-", 1)[0]
    ok = cpu == arch.cpu or (arch.cpu == "arm" and cpu.startswith("arm") and cpu != "arm64")
    if proc.returncode != 0 or not ok:
        raise BadInput(f"{what} is not a compiler for {arch.name}: it targets {target or 'nothing it can say'}; "
                       f"install {arch.package} or set [build] cross_compile or cc in porter.toml")
    return (version.stdout.splitlines() or [""])[0].strip()
