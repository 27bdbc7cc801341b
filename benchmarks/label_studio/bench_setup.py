"""Prepares Label Studio for the benchmark; runs inside Label Studio's own virtualenv.

    python bench_setup.py --labelers 32 --k 4      # prints {"project": id, "owner_token": ..., "tokens": [...]}

Migrates the database, then through Label Studio's ORM (its open-source edition has no API that makes a
user without an invite): an owner, an organization with legacy API tokens on (so `Authorization: Token`
works, as `label-studio start --enable-legacy-api-token` would do), the labelers as its members, each with
its DRF token, and a K-answer ranking project from the LLM Ranker template with overlap 1. The tasks
themselves go in through Label Studio's import API afterwards (labeling_vs_label_studio.py).
"""

import argparse
import json
import os
import sys

LS_PATH = os.path.dirname(__import__("label_studio").__file__)
sys.path.insert(0, LS_PATH)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")

# The LLM Ranker template's ranking part: the answers as a list, ranked by dragging.
LABEL_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <List name="answers" value="$items" title="Answers"/>
  <Ranker name="rank" toName="answers"/>
</View>"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--labelers", type=int, required=True)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-color", verbosity=0)
    from organizations.models import Organization
    from projects.models import Project
    from users.models import User

    owner = User.objects.create_user(email="owner@bench.local", password="bench-" + "x" * 20)
    owner.is_staff = owner.is_superuser = True
    owner.save()
    org = Organization.create_organization(created_by=owner, title="Benchmark", legacy_api_tokens_enabled=True)
    owner.active_organization = org
    owner.save(update_fields=["active_organization"])
    tokens = []
    for i in range(args.labelers):
        user = User.objects.create_user(email=f"labeler{i}@bench.local", password="bench-" + "x" * 20)
        org.add_user(user)
        user.active_organization = org
        user.save(update_fields=["active_organization"])
        tokens.append(user.auth_token.key)
    project = Project.objects.create(title="Ranking benchmark", created_by=owner, organization=org,
                                     label_config=LABEL_CONFIG, maximum_annotations=1, show_skip_button=False)
    print(json.dumps({"project": project.id, "owner_token": owner.auth_token.key, "tokens": tokens}))


if __name__ == "__main__":
    main()
