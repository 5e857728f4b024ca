"""Grading a whole class (``convgrade grade-batch``): discovery, parallel jobs, atomic per-student
outputs, resume. See runner.py for the flow and outputs.py for what "done" means."""
from .discover import DiscoveryError, Entry, Member, discover, parse_metadata, read_roster, safe_id
from .jobs import Job, grade_job
from .outputs import is_done, read_results, write_index
from .runner import EXECUTORS, BatchReport, needs_gpu, run_batch

__all__ = ["DiscoveryError", "Entry", "Member", "discover", "parse_metadata", "read_roster", "safe_id",
           "Job", "grade_job", "is_done", "read_results", "write_index", "EXECUTORS", "BatchReport",
           "needs_gpu", "run_batch"]
