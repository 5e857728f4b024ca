"""``convgrade serve``: the course's own submission service.

One concept per module:

* ``db``       SQLAlchemy 2 models and the engine (SQLite in the course folder, WAL; PostgreSQL by URL)
* ``migrations`` Alembic scripts, applied by ``db.migrate`` at every start
* ``course``   the course folder: roster, staff, assignments synced into the database, tokens
* ``queue``    the job table: enqueue, atomic claim with a lease, finish once, re-queue the dead
* ``worker``   the grading loop: claim, ``grader.grade.grade_submission`` (the CLI's engine and sandbox), finish
* ``security`` token hashing, signed session cookies, CSRF tokens
* ``app``      the Starlette application (Jinja2 templates, autoescaped)

The server state lives in ``COURSE/.convgrade-serve/`` (database, uploaded files, session key).
"""
