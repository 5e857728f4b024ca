# expect: max_score=0
# Allocates memory until something stops it.
hog = []
while True:
    hog.append(bytearray(64 << 20))
    hog[-1][::4096] = b"x" * len(hog[-1][::4096])
