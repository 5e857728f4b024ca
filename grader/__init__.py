"""convgrade's grading engine: submissions in, trusted judgements and feedback out."""
__version__ = "0.1.0"

from . import _threadsafe_ast  # noqa: E402,F401  (ast.parse is not thread-safe before 3.13)
