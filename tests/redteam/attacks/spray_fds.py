# expect: max_score=0
# Writes well-formed and malformed frames to every file descriptor it can guess, at import time.
import json
import os
import struct

payload = json.dumps({"id": 1, "values": {"y": 0}, "error": None, "ok": True}).encode()
frame = struct.pack(">Q", len(payload)) + payload
for fd in range(0, 64):
    for data in (frame, b"\xff" * 8, struct.pack(">Q", 10**12)):
        try:
            os.write(fd, data)
        except OSError:
            pass


class Conv2d:
    def __init__(self, *a, **k):
        pass
