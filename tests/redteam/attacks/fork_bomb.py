# expect: max_score=0
# A fork bomb at import time.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
