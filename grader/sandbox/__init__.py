"""Run untrusted student code in a sandboxed worker process and talk to it (see docs/ARCHITECTURE.md).

``WorkerSession`` starts ``worker.py`` (a standalone script: stdlib + numpy only) under bubblewrap
when it is usable, inside a fresh cgroup when cgroups are writable, always with rlimits, a new
session, a cleared environment and output caps; ``detect_isolation`` says which of these apply.
"""
from .config import IsolationReport, Limits, ProbeResult, SandboxConfig
from .launcher import SandboxUnavailable, WorkerSession, detect_isolation
from .protocol import ProtocolError, decode_npy, encode_message

__all__ = ["IsolationReport", "Limits", "ProbeResult", "SandboxConfig", "SandboxUnavailable", "WorkerSession",
           "detect_isolation", "ProtocolError", "decode_npy", "encode_message"]
