"""The order of bubblewrap's mounts: later mounts cover earlier ones."""
from grader.sandbox import SandboxConfig
from grader.sandbox.isolation import bwrap_argv, python_roots


def test_python_environment_is_bound_after_the_tmpfs_mounts():
    """A venv under /tmp (a CI checkout there) must be mounted on top of the fresh /tmp."""
    argv = bwrap_argv("/usr/bin/bwrap", SandboxConfig(), "/nonexistent/worker.py")
    tmp = max(i for i, a in enumerate(argv) if a == "--tmpfs" and argv[i + 1] in ("/tmp", "/home/student"))
    for root in python_roots():
        i = next(i for i, a in enumerate(argv[:-2]) if a == "--ro-bind" and argv[i + 1] == root)
        assert i > tmp, f"{root} is bound before the tmpfs mounts and would be hidden under /tmp"
