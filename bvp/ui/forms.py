"""Forms that only choose what a page shows (GET, query parameters).

They change nothing, so they carry no CSRF token (a token in a URL would leak into
logs and histories); forms that change something are FlaskForms and POST.
"""

from __future__ import annotations

from wtforms import DateField, Form, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

MAX_DAYS = 92  # a season of 15-minute data is still a light page


class WindowForm(Form):
    """A sensor chart's window in the sensor's local days (all optional)."""

    start = DateField("From (local date)", validators=[Optional()])
    end = DateField("To (local date, included)", validators=[Optional()])
    days = IntegerField("Days", validators=[Optional(), NumberRange(1, MAX_DAYS)], default=3)

    def validate_end(self, field) -> None:
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError("must not be before the start")
            if (field.data - self.start.data).days + 1 > MAX_DAYS:
                raise ValidationError(f"at most {MAX_DAYS} days can be shown at once")


class MonthForm(Form):
    month = SelectField("Month", validators=[Optional()])
