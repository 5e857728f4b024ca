"""Dask clusters for ``grade-batch --executor dask``: a Slurm deployment with dask-jobqueue.

::

    from grader.batch.cluster import slurm_cluster
    from grader.batch import discover, run_batch

    cluster = slurm_cluster(queue="gpu", gpus=1, cores=4, memory="16GB", walltime="02:00:00")
    cluster.scale(jobs=4)                       # four Slurm jobs, one dask worker each
    with distributed.Client(cluster) as client:
        run_batch(assignment, entries, "out/", executor="dask", dask_client=client)

Each Slurm job runs one dask worker with ``--resources GPU=<gpus>`` when ``gpus`` is set (the
GPU training checks' jobs ask for ``GPU=1``, see ``grader.batch.runner.needs_gpu``), so a CPU
partition and a GPU partition can serve one scheduler: make one cluster per partition, or one
``SLURMCluster`` for the GPU nodes plus workers started by hand elsewhere. The workers grade with
the sandbox on their node; they receive submissions, the assignment as a tar and the seeds of the
hidden checks, never the course secret. Give ``security`` (``distributed.Security``) to encrypt
and authenticate the traffic between the client, the scheduler and the workers.
"""
from __future__ import annotations


def slurm_cluster(*, queue: str | None = None, gpus: int = 0, cores: int = 4, memory: str = "16GB",
                  walltime: str = "01:00:00", account: str | None = None, python: str | None = None,
                  security=None, job_extra: list[str] | None = None, **kwargs):
    """A ``dask_jobqueue.SLURMCluster`` whose jobs each start one dask worker (``processes=1``:
    grading parallelism comes from the worker's threads, one sandbox per thread).

    ``gpus``: GPUs per job, asked from Slurm as ``--gres=gpu:N`` and advertised to dask as the
    ``GPU`` resource. ``security``: a ``distributed.Security``; the scheduler then listens on
    ``tls://``. Other keyword arguments go to ``SLURMCluster`` (``scheduler_options``,
    ``job_script_prologue``, ``log_directory``, ...). Nothing is submitted until ``scale``."""
    from dask_jobqueue import SLURMCluster

    directives = list(job_extra or [])
    worker_args = list(kwargs.pop("worker_extra_args", []))
    if gpus:
        directives.append(f"--gres=gpu:{int(gpus)}")
        worker_args += ["--resources", f"GPU={int(gpus)}"]
    extra = {}
    if security is not None:
        extra.update(security=security, protocol="tls://")
    if python:
        extra["python"] = python
    return SLURMCluster(queue=queue, account=account, cores=cores, processes=1, memory=memory, walltime=walltime,
                        job_extra_directives=directives, worker_extra_args=worker_args, **extra, **kwargs)
