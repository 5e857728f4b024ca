# expect: max_score=0
# expect: reason~=could not be loaded|died|exit|crash
import os
print('{"score": 6, "tests": []}', flush=True)
os._exit(0)
