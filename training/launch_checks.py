"""Refuse, before a job is saved, input snapshots it cannot use: a snapshot of a kind the job does not
take (it used to be ignored without a word), and an empty snapshot (an SFT job on a snapshot frozen
before any demonstration was accepted was queued, then failed in the worker with a traceback)."""

from __future__ import annotations

from training.errors import JobError
from training.errors import JobError
from training.models import JobKind, SnapshotKind

# Which snapshot kinds each job kind reads (training.launch.resolve_inputs says which part each plays).
TAKES = {
    JobKind.BOOTSTRAP: set(SnapshotKind.values),  # any snapshot's text joins the pretraining text
    JobKind.SFT: {SnapshotKind.SFT},
    JobKind.RM: {SnapshotKind.PAIRS, SnapshotKind.RANKINGS, SnapshotKind.SFT},
    JobKind.PPO: {SnapshotKind.SFT},
    JobKind.SAMPLE: set(),
    JobKind.EVALUATE: {SnapshotKind.PAIRS, SnapshotKind.RANKINGS},
    JobKind.DPO: {SnapshotKind.PAIRS, SnapshotKind.RANKINGS},
    JobKind.BON: set(),
}

ROWS = {SnapshotKind.SFT: "examples", SnapshotKind.PAIRS: "pairs", SnapshotKind.RANKINGS: "rankings"}

EMPTY_HINT = {
    SnapshotKind.SFT: "accept demonstrations under Review, then freeze a new sft snapshot",
    SnapshotKind.PAIRS: "rank tasks first, then freeze a new snapshot",
    SnapshotKind.RANKINGS: "rank tasks first, then freeze a new snapshot",
}


def check_snapshots(kind, snapshots):
    """Raise JobError("input_snapshots") naming the first snapshot of a wrong kind or with no rows."""
    takes = TAKES.get(kind)  # a kind not listed here checks its own inputs (training.launch.resolve_inputs)
    for snapshot in snapshots:
        if takes is not None and snapshot.kind not in takes:
            wanted = " or ".join(sorted(takes)) + " snapshots" if takes else "no snapshot"
            raise JobError("input_snapshots", f"snapshot #{snapshot.pk} is a {snapshot.kind} snapshot; a {kind} job takes {wanted}")
        rows = (snapshot.counts or {}).get(ROWS.get(snapshot.kind, ""))
        if rows == 0:
            raise JobError("input_snapshots", f"snapshot #{snapshot.pk} is empty (0 {ROWS[snapshot.kind]}): {EMPTY_HINT[snapshot.kind]}")
