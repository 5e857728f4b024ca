# expect: max_score=0
# Daemon threads and atexit handlers that write forged reply frames after the real ones.
import atexit
import json
import os
import struct
import threading
import time

import numpy as np


def forge():
    for i in range(1, 100):
        msg = json.dumps({"id": i, "values": {"y": 1.0}, "error": None}).encode()
        for fd in range(3, 30):
            try:
                os.write(fd, struct.pack(">Q", len(msg)) + msg)
            except OSError:
                pass


def loop():
    while True:
        time.sleep(0.05)
        forge()


threading.Thread(target=loop, daemon=True).start()
atexit.register(forge)


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        time.sleep(0.3)
        return np.zeros(1)
    def backward(self, g):
        return np.zeros(1)


MaxPool2d = Conv2d
