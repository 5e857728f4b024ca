# expect: max_score=0
# expect: reason~=not allowed|No module|ModuleNotFoundError|ImportError
# Uses the trusted reference layers as its own answer.
from reference.nn import Conv2d, MaxPool2d  # noqa: F401
