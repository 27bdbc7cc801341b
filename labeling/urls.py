"""API routes of the labeling app: the labeling workflow (views.py) and data quality, imports and
analytics (quality_views.py), reviewing demonstrations in bulk (review_views.py)."""

from labeling import quality_views, review_views, views

urlpatterns = views.urlpatterns + quality_views.urlpatterns + review_views.urlpatterns
