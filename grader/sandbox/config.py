"""Data types of the sandbox's public API: limits, configuration, results."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

ISOLATION_CHOICES = ("auto", "bwrap", "process")
STATUSES = ("ok", "error", "timeout", "crashed", "protocol_error", "output_flood", "not_started")
ALWAYS_FORBIDDEN = ("grader", "reference", "assignments")


@dataclass
class Limits:
    """Resource limits of one sandbox session (``[limits]`` of an assignment.toml)."""
    wall_s: float = 60.0                  # session wall clock for the checks (after the import)
    probe_timeout_s: float = 10.0         # default per-probe (per-check) deadline
    import_timeout_s: float = 60.0        # deadline of importing the module (its top-level code)
    cpu_s: int = 60                       # RLIMIT_CPU of every process of the worker
    memory_mb: int = 1024                 # cgroup memory limit, else RLIMIT_AS (+ headroom)
    pids: int = 64                        # cgroup pids.max, else RLIMIT_NPROC where meaningful
    fsize_mb: int = 16                    # RLIMIT_FSIZE
    nofile: int = 64                      # RLIMIT_NOFILE
    tmpfs_mb: int = 64                    # size of /tmp and home inside bwrap
    output_bytes: int = 64 * 1024         # stdout+stderr kept (the tail)
    output_kill_bytes: int = 8 << 20      # more than this from one worker: output flood, kill
    result_bytes: int = 64 << 20          # max bytes of one reply message
    max_elements: int = 10_000_000        # per returned array

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{f.name}: must be a positive number, got {value!r}")


@dataclass
class SandboxConfig:
    limits: Limits = field(default_factory=Limits)
    forbidden_imports: list[str] = field(default_factory=list)
    allow_torch: bool = False             # when False, "torch" is added to the forbidden imports
    isolation: str = "auto"               # "auto" | "bwrap" | "process" (no bwrap: the fallback)
    gpu: bool = False                     # bind /dev/nvidia* into bwrap when present
    extra_ro_binds: list[tuple[str, str]] = field(default_factory=list)  # (host path, sandbox path)
    use_cgroups: bool = True              # False: rlimits only (testing the fallback)
    # torch modules a pooled worker imports ahead, beyond torch itself, for this assignment's
    # checks (CheckKind.worker_imports; grader.sandbox.pool.default_preload); only with allow_torch
    torch_preload: tuple[str, ...] = ()

    def __post_init__(self):
        if self.isolation not in ISOLATION_CHOICES:
            raise ValueError(f"isolation: must be one of {ISOLATION_CHOICES}, got {self.isolation!r}")
        if not isinstance(self.limits, Limits):
            raise ValueError("limits: must be a Limits instance")
        if not all(isinstance(n, str) and (n == "torch" or n.startswith("torch.")) for n in self.torch_preload):
            raise ValueError(f"torch_preload: torch modules only, got {self.torch_preload!r}")
        for pair in self.extra_ro_binds:
            if len(pair) != 2 or not all(isinstance(p, str) and p.startswith("/") for p in pair):
                raise ValueError(f"extra_ro_binds: expected (absolute host path, absolute sandbox path), got {pair!r}")

    @property
    def forbidden(self) -> list[str]:
        """Every module name the worker's import blocker refuses (with its submodules)."""
        names = list(ALWAYS_FORBIDDEN) + [str(n) for n in self.forbidden_imports]
        if not self.allow_torch:
            names.append("torch")
        return sorted(set(names))


@dataclass
class IsolationReport:
    level: str                            # "bwrap+cgroup" | "bwrap" | "process+cgroup" | "process"
    details: list[str] = field(default_factory=list)


@dataclass
class ProbeResult:
    status: str                           # one of STATUSES
    values: dict = field(default_factory=dict)
    error: dict | None = None             # {"type", "message", "where", "line", "step"} or a reason
    stdout: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def from_manifest(manifest: dict, isolation: str = "auto", gpu: bool = False,
                  torch_preload: tuple[str, ...] = ()) -> SandboxConfig:
    """The sandbox configuration an assignment.toml (as a dict) asks for: its ``[limits]`` and
    ``[imports]``; ``gpu`` and ``torch_preload`` come from its checks (grader.grade.sandbox_config).
    ValueError naming unknown ``[limits]`` keys."""
    limits = dict(manifest.get("limits", {}))
    unknown = set(limits) - {f.name for f in fields(Limits)}
    if unknown:
        raise ValueError(f"unknown [limits] keys {sorted(unknown)}")
    imports = manifest.get("imports", {})
    return SandboxConfig(limits=Limits(**limits), forbidden_imports=list(imports.get("forbidden", [])),
                         allow_torch=bool(imports.get("allow_torch", False)), isolation=isolation, gpu=gpu,
                         torch_preload=tuple(torch_preload))
