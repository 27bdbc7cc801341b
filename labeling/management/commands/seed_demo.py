"""Seed the demo project: one user per role, the guideline (published), 32 prompts across categories
and splits, a demonstration task per SFT prompt and ranking tasks with hand-written answers.
Idempotent: a second run changes nothing."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.roles import ADMIN, ensure_roles
from labeling import demo_data
from labeling.models import Guideline, GuidelineVersion, Origin, Prompt, Response, Split
from labeling.ranking import create_demonstration_task, create_ranking_task
from training.engine.messages import normalise_prompt

SOURCE = "demo"


class Command(BaseCommand):
    help = "Create the demo users, guideline, prompts and tasks (idempotent)."

    @transaction.atomic
    def handle(self, **options):
        ensure_roles()
        User = get_user_model()
        for username, role, password in demo_data.DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_staff = user.is_superuser = role == ADMIN
                user.save()
            user.groups.add(Group.objects.get(name=role))

        guideline, _ = Guideline.objects.get_or_create(name=demo_data.GUIDELINE_NAME)
        if not guideline.versions.exists():
            GuidelineVersion.objects.create(
                guideline=guideline, number=1, body=demo_data.GUIDELINE_BODY, changelog="First version",
                published_at=timezone.now(),
            )

        if Prompt.objects.filter(source=SOURCE).exists():
            self.stdout.write("demo data already present")
            return
        prompts = [
            Prompt.objects.create(messages=normalise_prompt(text), text=text, category=category, split=split, source=SOURCE)
            for text, category, split in demo_data.PROMPTS
        ]
        for prompt in prompts:
            if prompt.split == Split.SFT:
                create_demonstration_task(prompt, labelers_required=1, batch=SOURCE)
        for index, answers in demo_data.SEED_ANSWERS:
            prompt = prompts[index]
            responses = [Response.objects.create(prompt=prompt, text=a, origin=Origin.HUMAN, source=SOURCE) for a in answers]
            create_ranking_task(prompt, responses, labelers_required=2, batch=SOURCE)
        self.stdout.write(f"seeded {len(prompts)} prompts, {len(demo_data.DEMO_USERS)} users")
