"""The job life cycle's public face: what the API, the management commands, the Celery tasks and the
experiment call. The work is done below, imports pointing one way (down):

    jobs          this module: wires the runners into execution
    runners       one function per job kind (engine calls, registering models, creating tasks)
    execution     claim, run context, outcome, recovery of jobs a dead worker left
    launch        inputs, create / submit / enqueue / cancel
    job_config    each kind's config fields and the launch form's schema
    job_lock      the Redis lock that says a worker is alive on a job
    errors        JobError

docs/design.md ("The life of a training job") tells the whole story, crash recovery included.
"""

from training import execution, runners
from training.errors import JobError
from training.execution import recover_jobs, resume_step
from training.job_config import EVALUATION_MODES, config_schema, split_config
from training.launch import cancel, create_job, enqueue, snapshot_path, submit

__all__ = ["EVALUATION_MODES", "JobError", "cancel", "config_schema", "create_job", "enqueue", "execute",
           "recover_jobs", "resume_step", "snapshot_path", "split_config", "submit"]


def execute(job_id):
    """Run one delivery of a job (the body of training.tasks.run_job). Returns what happened."""
    return execution.execute(job_id, runners.run)
