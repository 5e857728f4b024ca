# expect: max_score=0
# Floods stdout and stderr.
import sys

line = "A" * 10000 + "\n"
while True:
    sys.stdout.write(line)
    sys.stderr.write(line)
