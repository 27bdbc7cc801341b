from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from accounts import signals  # noqa: F401

        # Make the project's Celery app (Redis broker, queues, routes) the current app in every
        # Django process - web, management commands - not only in workers, so tasks sent from a
        # request go to our broker rather than Celery's default one.
        import celery_app  # noqa: F401  (platform/celery_app.py)
