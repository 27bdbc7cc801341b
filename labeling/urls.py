"""API routes of the labeling app: the labeling workflow (views.py) and data quality, imports and
analytics (quality_views.py), reviewing demonstrations in bulk (review_views.py), a labeler's work summary (summary_views.py)."""

from labeling import quality_views, review_views, summary_views, views

# summary_views first: its work/summary/ must not be read as a work/{id}/ route.
urlpatterns = summary_views.urlpatterns + views.urlpatterns + quality_views.urlpatterns + review_views.urlpatterns
