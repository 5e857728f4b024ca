# expect: min_score=6
# expect: no_leak
# A correct solution that also reads the environment and /proc for secrets and leaks them in errors it never raises.
{SOLUTION}

import os

LEAK = repr(dict(os.environ))
for path in ("/proc/1/environ", "/proc/self/environ", "/proc/%d/environ" % os.getppid()):
    try:
        LEAK += open(path, "rb").read().decode(errors="replace")
    except OSError:
        pass
print(LEAK)
