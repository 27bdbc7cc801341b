"""A labeler who finds no task while a sampling job is still generating answers is told that work is
coming: GET /api/work-in-preparation/ counts the sampling jobs queued or running, and nothing more."""

from training.models import Job, JobKind, JobState


def test_a_labeler_sees_sampling_jobs_in_progress_and_nothing_once_they_end(make_user, api_client_for):
    labeler = api_client_for(make_user("labeler"))
    assert labeler.get("/api/work-in-preparation/").json() == {"sampling_jobs": 0, "progress": 0.0}

    running = Job.objects.create(kind=JobKind.SAMPLE, state=JobState.RUNNING, progress=0.5)
    Job.objects.create(kind=JobKind.SAMPLE, state=JobState.QUEUED)
    Job.objects.create(kind=JobKind.SFT, state=JobState.RUNNING, progress=0.9)  # not labelers' work
    Job.objects.create(kind=JobKind.SAMPLE, state=JobState.SUCCEEDED, progress=1.0)
    assert labeler.get("/api/work-in-preparation/").json() == {"sampling_jobs": 2, "progress": 0.25}

    Job.objects.filter(kind=JobKind.SAMPLE).exclude(pk=running.pk).delete()
    Job.objects.filter(pk=running.pk).update(state=JobState.FAILED)
    assert labeler.get("/api/work-in-preparation/").json()["sampling_jobs"] == 0


def test_anonymous_callers_are_refused(api_client_for, db):
    assert api_client_for(None).get("/api/work-in-preparation/").status_code in (401, 403)
