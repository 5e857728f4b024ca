# expect: max_score=0
# expect: no_leak
# Walks the filesystem for checks, expected arrays and the course secret, and reports what it found
# through an exception message (which the feedback may show).
import os

found = []
for root in ("/", "/work", "/root", "/tmp", "/home"):
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath.startswith(("/proc", "/sys", "/dev", "/usr")):
            dirnames[:] = []
            continue
        for fn in filenames:
            if fn in ("checks.toml", "secret", "assignment.toml") or fn.endswith(".npy"):
                path = os.path.join(dirpath, fn)
                try:
                    found.append(path + ":" + open(path, errors="replace").read(200))
                except OSError:
                    found.append(path)
        if len(found) > 5:
            break
secret = os.environ.get("CONVGRADE_SECRET", "")


class Conv2d:
    def __init__(self, *a, **k):
        raise RuntimeError("FOUND " + secret + " ".join(found)[:2000])


MaxPool2d = Conv2d
