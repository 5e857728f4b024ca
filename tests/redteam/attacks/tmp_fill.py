# expect: max_score=0
# Fills /tmp and /dev/shm.
import os

for d in ("/tmp", "/dev/shm", os.path.expanduser("~")):
    try:
        with open(os.path.join(d, "fill.bin"), "wb") as f:
            for _ in range(4096):
                f.write(b"\0" * (1 << 20))
    except OSError:
        pass


class Conv2d:
    def __init__(self, *a, **k):
        pass
