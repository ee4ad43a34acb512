"""Browser-facing pages. So far: rq-dashboard, mounted at /rq for admins."""
