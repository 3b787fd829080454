"""A porter workspace: porter.toml, series/NAME/ and the .porter/ cache."""
from __future__ import annotations

import os
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput
from . import gitutil, schema

CONFIG = "porter.toml"


def inside(root: Path, path: Path, what: str = "path") -> Path:
    """path, after checking that its real location (symlinks resolved) is root or below root."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real != real_root and real_root not in real.parents:
        raise BadInput(f"{what} {path} leads outside {root} (to {real}): porter reads and writes only "
                       f"inside the workspace")
    return path


def safe_join(root: Path, rel: str, what: str = "path") -> Path:
    """root/rel, refusing absolute paths and anything that leaves root."""
    if not isinstance(rel, str) or not rel or rel.startswith(("/", "\\")) or os.path.isabs(rel):
        raise BadInput(f"{what} {rel!r} must be a relative path inside {root}")
    parts = Path(rel).parts
    if ".." in parts:
        raise BadInput(f"{what} {rel!r} leaves {root}")
    return root / rel


@dataclass
class Workspace:
    root: Path
    config: dict

    @property
    def name(self) -> str:
        return self.config["series"]["name"]

    @property
    def series_dir(self) -> Path:
        return inside(self.root, self.root / "series" / self.name, "series folder")

    @property
    def cache(self) -> Path:
        return inside(self.root, self.root / ".porter", "cache folder")

    @property
    def upstream_git(self) -> Path:
        return self._mirror("upstream")

    @property
    def xen_git(self) -> Path:
        return self._mirror("xen")

    def _mirror(self, which: str, progress=None, refresh: bool = False, public: bool = False) -> Path:
        """The cache of a source ("upstream" or "xen"): cloned from porter.toml's URL (public: its
        public URL) when missing (a fresh checkout of a committed workspace, in CI), fetched again
        with refresh."""
        path = self.cache / f"{which}.git"
        if path.exists():
            gitutil.check_cache_config(inside(self.root, path, f"{which} cache"))
        if refresh or not path.exists():
            source = self.public_url(which) if public else self.config[which]["url"]
            mirror_source(source, path, which, progress)
            ignore = self.cache / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n")
        return path

    def public_url(self, which: str) -> str:
        """The URL of a source others can reach (public_url, else url); BadInput for a local path."""
        url = self.config[which].get("public_url") or self.config[which]["url"]
        if not is_url(url):
            raise BadInput(f"porter.toml [{which}] names the local path {url!r}, which CI runners cannot "
                           f"reach and patches must not name: set [{which}] public_url = \"https://...\"")
        return url

    @property
    def base(self) -> str:
        return self.config["xen"]["base"]

    def resolve(self, which: str, ref: str, what: str) -> str:
        """ref in the cache of source `which`; on a miss, fetch that source once and retry."""
        gitutil.check_ref_syntax(ref, what)
        try:
            return gitutil.resolve(self._mirror(which), ref, what)
        except BadInput:
            try:
                self._mirror(which, refresh=True)
            except BadInput:
                pass   # the source is unreachable: the unknown ref is the error to report
            return gitutil.resolve(self._mirror(which), ref, what)

    def fetch(self, progress=None, public: bool = False) -> None:
        """Fetch both sources into .porter/, cloning what is missing (public: from the public URLs,
        refusing local paths, as CI must)."""
        if public:
            for which in ("upstream", "xen"):
                self.public_url(which)
        for which in ("upstream", "xen"):
            self._mirror(which, progress, refresh=True, public=public)

    def save(self) -> None:
        import tomli_w
        atomic_write(self.root / CONFIG, tomli_w.dumps(self.config).encode())

    def newest_revision(self) -> int:
        revs = self.revisions()
        if not revs:
            raise BadInput(f"no revision in series/{self.name}/ yet: run 'porter resync --from TAG' first")
        return revs[-1]

    def revision_dir(self, version: int) -> Path:
        path = inside(self.root, self.series_dir / f"v{version}", "revision folder")
        if not path.is_dir():
            have = ", ".join(f"v{n}" for n in self.revisions()) or "none"
            raise BadInput(f"no revision v{version} in series/{self.name}/ (have: {have})")
        return path

    def revision_files(self, version: int) -> dict[str, bytes]:
        """{file name: bytes} of series/NAME/vN/."""
        return {p.name: inside(self.root, p, "revision file").read_bytes()
                for p in sorted(self.revision_dir(version).iterdir()) if p.is_file()}

    def revisions(self) -> list[int]:
        if not self.series_dir.is_dir():
            return []
        revs = []
        for p in self.series_dir.iterdir():
            if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit():
                revs.append(int(p.name[1:]))
        return sorted(revs)


def root_for(start: Path) -> Path | None:
    """The workspace (folder with porter.toml) start lies in, if any."""
    here = Path(start).resolve()
    return next((d for d in (here, *here.parents) if (d / CONFIG).is_file()), None)


def parse_version(text: str | None) -> int | None:
    """'v3' (or '3') -> 3; None stays None."""
    if text is None:
        return None
    t = text[1:] if text[:1] in "vV" else text
    if not t.isdigit():
        raise BadInput(f"invalid revision {text!r} (want vN)")
    return int(t)


def user_cache() -> Path:
    """$XDG_CACHE_HOME/porter: what porter keeps when run outside a workspace."""
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "porter"


def cache_for(start: Path) -> Path | None:
    """The .porter/ cache of the workspace start lies in, if any."""
    root = root_for(start)
    return inside(root, root / ".porter", "cache folder") if root else None


def check_cache(root: Path) -> None:
    """Refuse a .porter/ whose folders (two levels, git stores aside) lead outside the workspace
    through a symlink: commands write into them."""
    cache = inside(root, root / ".porter", "cache folder")
    if not cache.is_dir():
        return
    for entry in cache.iterdir():
        inside(root, entry, "cache entry")
        if entry.is_dir() and not entry.name.endswith(".git"):
            for sub in entry.iterdir():
                if sub.is_symlink():
                    inside(root, sub, "cache entry")


def load(start: str | os.PathLike | None = None) -> Workspace:
    """The workspace start lies in: the nearest folder at or above start holding porter.toml."""
    here = Path(start or ".").resolve()
    root = root_for(here)
    if root is None:
        raise BadInput(f"no {CONFIG} in {here} or its parents: not a porter workspace "
                       f"(run 'porter init' or use -C DIR)")
    path = root / CONFIG
    inside(root, path, CONFIG)
    try:
        config = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: malformed workspace config ({exc})") from None
    schema.workspace_config(config, str(path))
    name = config["series"]["name"]
    safe_join(root / "series", name, f"{path}: [series] name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise BadInput(f"{path}: [series] name {name!r} must be a single folder name")
    ws = Workspace(root, config)
    recover_swap(ws.root / "series" / name)
    return ws


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write path whole (temp file then rename), with the mode a plain open() would give (0644)."""
    import tempfile
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_dir(target: Path):
    """Yield a temp dir beside target; on success it replaces target whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_dir(target.parent, f".{target.name}.tmp-")
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            import shutil
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            import shutil
            shutil.rmtree(tmp)


def new_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder in parent (mode 0700), as tempfile.mkdtemp makes it; without tempfile,
    whose import (shutil, random) a resync answered from its memo would spend most of its time on."""
    while True:
        path = parent / f"{prefix}{os.urandom(6).hex()}"
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


def _old(target: Path) -> Path:
    return target.parent / f".{target.name}.old"


@contextmanager
def replace_dir(target: Path, keep=lambda name: False):
    """Yield a temp dir beside target; on success it becomes target as a whole, with the entries of
    the old target that keep(name) selects carried over (hard links, nothing copied or lost).

    A kill at any point leaves either the old or the new target, or the old one renamed aside,
    which recover_swap() (run by load()) puts back."""
    import shutil
    recover_swap(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_dir(target.parent, f".{target.name}.tmp-")
    try:
        yield tmp
        if target.is_dir():
            for entry in target.iterdir():
                if keep(entry.name) and not (tmp / entry.name).exists():
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.copytree(entry, tmp / entry.name, symlinks=True, copy_function=os.link)
                    else:
                        os.link(entry, tmp / entry.name, follow_symlinks=False)
            os.replace(target, _old(target))
        os.replace(tmp, target)
        shutil.rmtree(_old(target), ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def recover_swap(target: Path) -> None:
    """Finish or undo a replace_dir() that was killed between its two renames."""
    old = _old(target)
    if old.is_dir() and not old.is_symlink():
        if target.exists():
            import shutil
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, target)


def mirror_source(source: str, dest: Path, what: str, progress=None) -> None:
    """Clone source (local path or URL) bare into dest, or fetch into an existing cache.

    GitPython refuses options hidden in a URL (--upload-pack=...) and ext:: transports.
    """
    import shutil

    import git
    if dest.exists():
        gitutil.git(dest, "fetch", "--quiet", "--tags", "--force", "origin", "+refs/heads/*:refs/heads/*")
        return
    if "://" not in source and not source.startswith("git@"):
        path = Path(source)
        if not path.exists():
            raise BadInput(f"{what} {source!r} does not exist")
        if not gitutil.is_git_repo(path):
            raise BadInput(f"{what} {source!r} is not a git repository")
        source = str(path.resolve())
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        report = None
        if progress is not None:
            def report(op, cur, total=None, message=""):
                progress(f"cloning {what}: {int(cur)}/{int(total or 0)} {message}".rstrip())
        repo = git.Repo.clone_from(source, tmp, bare=True, progress=report,
                                   env={"GIT_TERMINAL_PROMPT": "0"})
        repo.git.config("remote.origin.fetch", "+refs/heads/*:refs/heads/*")
        repo.remotes.origin.fetch(tags=True, force=True)
        repo.close()
        os.replace(tmp, dest)
    except git.exc.UnsafeOptionError:
        raise BadInput(f"{what} {source!r} looks like a git option") from None
    except git.exc.UnsafeProtocolError:
        raise BadInput(f"{what} {source!r} uses a transport porter refuses") from None
    except git.exc.GitCommandError as exc:
        lines = [ln for ln in str(exc.stderr).strip().strip("'").splitlines() if ln.strip()]
        raise BadInput(f"cannot clone {what} {source!r}: {lines[-1].strip() if lines else exc.status}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


RECIPES = Path(__file__).parent / "recipes"


def shipped_recipes() -> list[str]:
    return sorted(p.name for p in RECIPES.iterdir() if (p / "recipe.toml").is_file())


def shipped_recipe(name: str) -> Path:
    """The folder of a recipe porter ships (series/NAME/ in its source tree)."""
    path = RECIPES / name
    if "/" in name or name.startswith(".") or not (path / "recipe.toml").is_file():
        raise BadInput(f"unknown recipe {name!r} (porter ships: {', '.join(shipped_recipes()) or 'none'})")
    return path


def init(root: Path, name: str | None, upstream: str, xen: str, base: str, release: str | None = None,
         public_url: str | None = None, progress=None, xen_public_url: str | None = None,
         recipe: str | None = None) -> Workspace:
    """A new workspace; with recipe, series/NAME/ starts as a copy of that shipped recipe
    (NAME defaults to the recipe's series name)."""
    import shutil
    source = shipped_recipe(recipe) if recipe else None
    if source is not None and not name:
        name = _recipe_name(source) or recipe
    if not name:
        raise BadInput("a series name is needed: --name NAME (or --recipe RECIPE)")
    gitutil.check_ref_syntax(base, "base")
    if release is not None:
        gitutil.check_ref_syntax(release, "release")
    safe_join(Path("series"), name, "series name")
    if "/" in name or "\\" in name or not name.strip() or name in (".", "..") or schema.CONTROL.search(name):
        raise BadInput(f"invalid series name {name!r}")
    root = root.resolve()
    if root.exists() and not root.is_dir():
        raise BadInput(f"{root} exists and is not a folder")
    if (root / CONFIG).exists() or (root / CONFIG).is_symlink():
        raise BadInput(f"{root / CONFIG} already exists")
    for option, value in (("--public-url", public_url), ("--xen-public-url", xen_public_url)):
        if value is not None and not is_url(value):
            raise BadInput(f"{option} {value!r} is not a URL others can reach")
    config = {
        "series": {"name": name},
        "upstream": {"url": _source(upstream)},
        "xen": {"url": _source(xen), "base": base},
    }
    if release:
        config["xen"]["release"] = release
    if source is not None and _recipe_doc(source).get("build"):
        config["build"] = dict(_recipe_doc(source)["build"])      # the options the series adds
    for which, given in (("upstream", public_url), ("xen", xen_public_url)):
        url = given or public_remote(config[which]["url"])
        if url and url != config[which]["url"]:
            config[which]["public_url"] = url
    up = config["upstream"]
    if not is_url(up.get("public_url") or up["url"]) and gitutil.is_git_repo(up["url"]):
        raise BadInput(f"upstream {upstream!r} is a local clone without a public remote: pass "
                       f"--public-url URL (the tree patches will name as the code's origin)")
    schema.workspace_config(config, "porter init")
    created: list[Path] = []           # what this init made, removed (newest first) when it fails

    def make(path: Path) -> None:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        created.extend(reversed(missing))

    try:
        make(root)
        ws = Workspace(root, config)
        make(ws.cache)
        for which in ("upstream", "xen"):
            mirror = ws.cache / f"{which}.git"
            if not mirror.exists():
                created.append(mirror)
        ignore = ws.cache / ".gitignore"
        if not ignore.exists():
            created.append(ignore)
        for which in ("upstream", "xen"):
            ws._mirror(which, progress)
        gitutil.resolve(ws.xen_git, base, "base")
        if release:
            gitutil.resolve(ws.xen_git, release, "release")
        if source is not None:
            missing = [p for p in (ws.series_dir, *ws.series_dir.parents) if not p.exists()]
            with atomic_dir(ws.series_dir) as tmp:
                shutil.copytree(source, tmp, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"))
            created.extend(reversed(missing))
        make(ws.series_dir)
        created.append(root / CONFIG)
        ws.save()
    except BaseException:
        for path in reversed(created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists() or path.is_symlink():
                path.unlink()
        raise
    return ws


def _recipe_doc(path: Path) -> dict:
    try:
        return tomllib.loads((path / "recipe.toml").read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path / 'recipe.toml'}: {exc}") from None


def _recipe_name(path: Path) -> str:
    return str(_recipe_doc(path).get("series", {}).get("name", ""))


def is_url(source: str) -> bool:
    """Whether a source is reachable from elsewhere (a URL or scp-like git@host:path), not a local path."""
    return "://" in source and not source.startswith("file:") or source.startswith("git@")


def public_remote(source: str) -> str | None:
    """The URL a local clone's origin remote names, when it is one (the tree's public home)."""
    if is_url(source) or not gitutil.is_git_repo(source):
        return None
    url = gitutil.run(source, "config", "--get", "remote.origin.url").stdout.decode("utf-8", "replace").strip()
    return url if is_url(url) else None


def _source(source: str) -> str:
    """A source as porter.toml keeps it: URLs as given, local paths made absolute."""
    if "://" in source or source.startswith("git@") or not Path(source).exists():
        return source
    return str(Path(source).resolve())
