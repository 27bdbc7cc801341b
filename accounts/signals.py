"""Keep the role groups in place after every migrate (permissions exist only after it)."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def create_roles(sender, **kwargs):
    if sender.name == "training":  # the last app with models: all permissions exist by now
        from accounts.roles import ensure_roles

        ensure_roles()
