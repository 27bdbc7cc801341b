"""API routes of the training app: dataset snapshots (dataset_views.py) and jobs, models and
evaluation (job_views.py), and whether ranking tasks are being prepared (preparing_views.py)."""

from training import dataset_views, job_views, preparing_views

urlpatterns = dataset_views.urlpatterns + job_views.urlpatterns + preparing_views.urlpatterns
