"""convgrade's trusted reference: numpy layers (``reference.nn``), formulas (``reference.arith``),
torch architectures (``reference.models``) and datasets (``reference.data``).

Never importable inside the sandbox: student code cannot read the answers.
"""
