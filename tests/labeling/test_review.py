"""Reviewing demonstrations in bulk (POST /api/demonstration-reviews/): all or none, a reject needs
the comment the labeler will read, only admins review."""

import pytest

from labeling.models import Demonstration, Prompt, ReviewState


@pytest.fixture
def demos(make_user):
    labeler = make_user("labeler", username="lena")
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "Say hi."}], text="Say hi.")
    return [Demonstration.objects.create(prompt=prompt, labeler=labeler, text=f"Hi {n}!") for n in range(3)]


def review(client, **body):
    return client.post("/api/demonstration-reviews/", body, content_type="application/json")


def states():
    return list(Demonstration.objects.order_by("id").values_list("review_state", flat=True))


@pytest.mark.django_db
def test_an_admin_accepts_several_at_once(client, make_user, demos):
    admin = make_user("admin", username="ada")
    client.force_login(admin)
    response = review(client, ids=[demos[0].id, demos[2].id], decision="accept")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == [demos[0].id, demos[2].id]
    assert states() == [ReviewState.ACCEPTED, ReviewState.SUBMITTED, ReviewState.ACCEPTED]
    assert Demonstration.objects.get(pk=demos[0].id).reviewer == admin


@pytest.mark.django_db
def test_a_reject_without_a_comment_or_an_unknown_id_changes_nothing(client, make_user, demos):
    client.force_login(make_user("admin"))
    response = review(client, ids=[d.id for d in demos], decision="reject", comment="  ")
    assert response.status_code == 400 and "comment" in response.json()
    response = review(client, ids=[demos[0].id, 999_999], decision="accept")
    assert response.status_code == 400 and "999999" in str(response.json()["ids"])
    assert review(client, ids="all", decision="accept").status_code == 400
    assert states() == [ReviewState.SUBMITTED] * 3
    response = review(client, ids=[demos[1].id], decision="reject", comment="Answer the question asked.")
    assert response.status_code == 200
    assert Demonstration.objects.get(pk=demos[1].id).review_comment == "Answer the question asked."


@pytest.mark.django_db
def test_labelers_do_not_review(client, demos):
    client.force_login(demos[0].labeler)
    assert review(client, ids=[demos[0].id], decision="accept").status_code == 403
    assert states() == [ReviewState.SUBMITTED] * 3


@pytest.mark.django_db
def test_a_bulk_decision_never_overturns_a_review_already_made(client, make_user, demos):
    client.force_login(make_user("admin"))
    assert review(client, ids=[demos[0].id], decision="reject", comment="Too short.").status_code == 200
    response = review(client, ids=[d.id for d in demos], decision="accept")
    assert response.status_code == 400 and f"[{demos[0].id}] were already reviewed" in str(response.json()["ids"])
    assert states() == [ReviewState.REJECTED, ReviewState.SUBMITTED, ReviewState.SUBMITTED]
