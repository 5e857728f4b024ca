"""convgrade's grading engine: submissions in, trusted judgements and feedback out."""
__version__ = "0.1.0"
