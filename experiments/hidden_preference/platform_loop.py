"""The loop through the real platform: the labels and the answers to rank travel the product's own paths.

``PlatformLoop`` keeps the engine stages of ``Loop`` (bootstrap, SFT, RM, PPO, evaluation) and replaces
the data stages:

- demonstrations: a simulated labeler takes each SFT prompt's demonstration task through
  ``POST /api/work/next/`` and submits it; SFT trains on the frozen ``sft`` snapshot file;
- sampling: the SFT model is registered in the model registry and a ``sample`` job on the Celery ``gpu``
  worker puts K answers per RM prompt into ranking tasks (``labelers_required`` each: the overlap);
- rankings: simulated labelers work the ranking queue through the API by the hidden gold rule plus
  noise; a Celery ``default`` worker expands every ranking into its pairs; the RM trains on the frozen
  ``rankings`` snapshot file, and agreement is what the platform's ``/api/quality/agreement/`` reports.

``PlatformSession`` is the platform for one run, private to it: an SQLite database and artifacts in
the run folder, an embedded redis-server as the broker, and two worker processes, as ``scripts/run.sh``
starts them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from . import gold
from . import platform_labeling as api
from .loop import Loop, split

ROOT = Path(__file__).resolve().parents[2]


class PlatformSession:
    """Django configured on a private database and broker, with Celery workers for `default` and `gpu`."""

    def __init__(self, folder: Path, log=print):
        self.folder, self.log = Path(folder), log
        self.workers: list[subprocess.Popen] = []
        self.redis = None

    def __enter__(self):
        for path in (str(ROOT), str(ROOT / "platform")):
            if path not in sys.path:
                sys.path.insert(0, path)
        from broker import start_embedded_redis  # platform/broker.py

        self.folder.mkdir(parents=True, exist_ok=True)
        url, self.redis = start_embedded_redis(self.folder / "redis")
        os.environ.update({
            "DJANGO_SETTINGS_MODULE": "settings", "DATABASE_URL": f"sqlite:///{self.folder / 'platform.sqlite3'}",
            "ARTIFACT_ROOT": str(self.folder / "artifacts"), "REDIS_URL": url, "CELERY_BROKER_URL": url,
            "CELERY_RESULT_BACKEND": url, "LOGIN_THROTTLE_RATE": "100000/min",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]), "PYTHONUNBUFFERED": "1"})
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        for queue in ("default", "gpu"):
            log = open(self.folder / f"worker-{queue}.log", "ab")
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-Q", queue, "--concurrency", "1",
                 "--prefetch-multiplier", "1", "-n", f"{queue}-{os.getpid()}@%h", "-l", "info"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        self.log(f"platform: database {os.environ['DATABASE_URL']}, broker {url}, workers default + gpu")
        return self

    def __exit__(self, *exc):
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if self.redis is not None:
            self.redis.kill()
        return False


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class PlatformLoop(Loop):
    """``Loop`` whose demonstrations, answers to rank and rankings go through the platform (see above)."""

    def __init__(self, out, sizes, log=print):
        super().__init__(out, sizes, log)
        self.prompts = None

    def _prompts(self):
        if self.prompts is None:
            records = split("sft", self.sizes.sft_prompts) + split("rm", self.sizes.rm_prompts)
            self.terms = {r["text"]: r["term"] for r in records}
            self.prompts = api.add_prompts(records)
        return self.prompts

    def demonstrations(self):
        """Demonstration tasks, written by a simulated labeler over the API; the frozen sft snapshot file."""
        from training.datasets import freeze_snapshot
        from training.jobs import snapshot_path

        prompts = self._prompts()
        api.demonstration_tasks([prompts[r["text"]] for r in split("sft", self.sizes.sft_prompts)])
        written = api.write_demonstrations(api.labeler_client("writer"), self.terms, seed=1)
        snapshot = freeze_snapshot("sft", {"include_submitted": True}, name="hidden-preference demonstrations")
        self.facts.update(demonstrations_via_api=written, sft_snapshot=snapshot.pk)
        self.log(f"demonstrations: {written} written through the API; sft snapshot {snapshot.pk}")
        return str(snapshot_path(snapshot))

    def sample_rm_answers(self, sft):
        """A sample job on the gpu worker: K answers per RM prompt, as ranking tasks for the labelers."""
        from labeling.models import Task
        from training import jobs
        from training.models import JobState, ModelKind
        from training.registry import register_existing

        s = self.sizes
        self._prompts()
        model = register_existing("hidden-preference sft", ModelKind.SFT, sft)
        start, batches = time.monotonic(), []
        for seed in range(3, 3 + s.sample_rounds):  # one job per round, each with its own seed
            config = {"split": "rm", "limit": s.rm_prompts, "labelers_required": s.labelers_per_task, "k": s.k,
                      "max_new_tokens": s.max_new_tokens, "batch_size": 16, "seed": seed}
            job = jobs.submit(jobs.create_job("sample", config, input_models=[model], name=f"rm answers, seed {seed}"))
            job = wait_for(lambda: self._finished(job.pk), timeout=1800, what=f"sample job {job.pk}")
            if job.state != JobState.SUCCEEDED:
                raise RuntimeError(f"sample job {job.pk} {job.state}: {job.error}")
            batches.append(job.result["batch"])
        self.timings["sample"] = round(time.monotonic() - start, 1)
        tasks = Task.objects.filter(batch__in=batches).select_related("prompt").prefetch_related("responses")
        sampled = [{"prompt": t.prompt.text, "responses": [r.text for r in t.responses.all()]} for t in tasks]
        self.facts.update(sample_jobs=len(batches), ranking_tasks=len(sampled))
        self.log(f"{len(batches)} sample jobs: {len(sampled)} ranking tasks of K={s.k} in {self.timings['sample']} s")
        return sampled

    @staticmethod
    def _finished(job_id):
        from training.models import Job

        job = Job.objects.get(pk=job_id)
        return job if job.is_terminal else None

    def rank(self, sampled):
        """Labelers rank through the API; the default worker expands pairs; the rankings snapshot file."""
        from labeling.models import ComparisonPair, Ranking
        from training.datasets import freeze_snapshot
        from training.jobs import snapshot_path

        scores = [[gold.gold_score(r["prompt"], a) for a in r["responses"]] for r in sampled]
        sigma = gold.calibrate_noise(scores)
        done = sum(api.rank_queue(api.labeler_client(f"ranker{i}"), gold.SimulatedLabeler(sigma, seed=100 + i))
                   for i in range(self.sizes.labelers_per_task))
        wait_for(lambda: not Ranking.objects.filter(pairs_expanded_at=None).exists(), timeout=600,
                 what="the default worker to expand every ranking")
        expected, written = api.expected_pairs(), ComparisonPair.objects.count()
        if written != expected:
            raise RuntimeError(f"pair expansion wrote {written} pairs, the rankings imply {expected}")
        agreement = api.platform_agreement()
        snapshot = freeze_snapshot("rankings", name="hidden-preference rankings")
        same, compared = api.measured_agreement()
        self.facts.update(labeler_noise_sigma=round(sigma, 3), labeler_agreement=same / max(compared, 1),
                          agreement_pairs=compared, rankings=done, pairs_on_celery=written,
                          platform_agreement=agreement, rankings_snapshot=snapshot.pk)
        self.log(f"labelers: σ={sigma:.3f}; {done} rankings through the API, {expected} pairs expanded on Celery, "
                 f"agreement {same / max(compared, 1):.3f} on {compared} pairs; rankings snapshot {snapshot.pk}")
        return str(snapshot_path(snapshot))
