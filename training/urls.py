"""API routes of the training app: dataset snapshots (dataset_views.py) and jobs, models and
evaluation (job_views.py)."""

from training import dataset_views, job_views

urlpatterns = dataset_views.urlpatterns + job_views.urlpatterns
