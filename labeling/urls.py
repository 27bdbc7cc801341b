"""API routes of the labeling app: the labeling workflow (views.py) and data quality, imports and
analytics (quality_views.py)."""

from labeling import quality_views, views

urlpatterns = views.urlpatterns + quality_views.urlpatterns
