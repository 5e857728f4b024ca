"""``python -m grader``: the same entry point as the ``convgrade`` console script."""
from .cli import main

main(prog_name="convgrade")
