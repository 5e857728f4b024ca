# expect: max_score=0
# Ignores SIGTERM and SIGINT, then spins.
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
