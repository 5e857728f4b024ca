import os
import textwrap

import pytest

from grader.sandbox import Limits, SandboxConfig, WorkerSession, detect_isolation
from grader.sandbox.isolation import bwrap_status

BWRAP_OK, BWRAP_WHY = bwrap_status()

ISOLATIONS = [pytest.param("bwrap", marks=pytest.mark.skipif(not BWRAP_OK, reason=f"bubblewrap unusable: {BWRAP_WHY}")),
              "process"]


def make_config(isolation="auto", **limits) -> SandboxConfig:
    base = dict(wall_s=30.0, probe_timeout_s=5.0)
    base.update(limits)
    return SandboxConfig(limits=Limits(**base), isolation=isolation)


def session(source: str, isolation="auto", config: SandboxConfig | None = None, **limits) -> WorkerSession:
    return WorkerSession(textwrap.dedent(source), config or make_config(isolation, **limits))


def procs_with(tag: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``tag``."""
    out = []
    needle = tag.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if needle in fh.read():
                    out.append(int(entry))
        except OSError:
            pass
    return out


def cgroups_available(config: SandboxConfig) -> bool:
    return detect_isolation(config).level.endswith("+cgroup")
