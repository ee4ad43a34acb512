"""Monthly metrics, anchored on a date: data quality, forecast accuracy and queue health
for the last full calendar month before "now" (``DATE_ANCHOR``, default the real now)."""
