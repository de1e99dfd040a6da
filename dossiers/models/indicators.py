"""The supervisors' indicators at scale: additive counts per Vietnam day (and per month) and
per receiving agency, competent agency and procedure, kept by the worker from the dossiers
(dossiers/indicators.py; docs/indicators.md, "How the figures are computed at scale")."""

from django.db import models

from ..workflow import Status
from .agencies import Agency
from .catalogue import Procedure


class IndicatorRollup(models.Model):
    """The figures of one day (or of one whole month) for one (receiving agency, competent
    agency, procedure). Each count is by the date that puts the figure in a period: received
    counts by `received_at`, resolved by `resolved_at`, returned by `returned_at`, ratings by
    `rated_at`, the status breakdown by `submitted_at`. Rebuilt, never edited by hand."""

    class Grain(models.TextChoices):
        DAY = "d", "day"
        MONTH = "m", "month"

    grain = models.CharField(max_length=1, choices=Grain.choices)
    # The Vietnam date; a month row carries the first day of its month.
    day = models.DateField()
    receiving_agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    competent_agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    received = models.PositiveIntegerField(default=0)
    received_counter = models.PositiveIntegerField(default=0)
    received_online = models.PositiveIntegerField(default=0)
    received_postal = models.PositiveIntegerField(default=0)
    multi_supplement = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolved_before = models.PositiveIntegerField(default=0)
    resolved_on = models.PositiveIntegerField(default=0)
    resolved_after = models.PositiveIntegerField(default=0)
    # resolved_at <= original_due_at, as the monthly chart counts it.
    resolved_in_time = models.PositiveIntegerField(default=0)
    # The average processing time is a sum and a count of the recorded values (Avg skips NULL).
    working_seconds = models.BigIntegerField(default=0)
    working_seconds_counted = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    returned_electronic = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    rated_very_satisfied = models.PositiveIntegerField(default=0)
    rated_satisfied = models.PositiveIntegerField(default=0)
    rated_unsatisfied = models.PositiveIntegerField(default=0)
    # Decision 766 (docs/indicators.md): results kept in the store as electronic originals (by
    # resolved_at); dossiers whose every paper is electronic (by received_at); the papers of the
    # dossiers received that day, and those of them reused from the store.
    results_electronic = models.PositiveIntegerField(default=0)
    digitised = models.PositiveIntegerField(default=0)
    attachments = models.PositiveIntegerField(default=0)
    attachments_reused = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "receiving_agency", "competent_agency", "procedure"],
                name="unique_indicator_rollup",
            )
        ]

    def __str__(self):
        return f"{self.grain} {self.day} {self.receiving_agency_id}/{self.competent_agency_id}"


def status_column(status: str) -> str:
    return f"submitted_{status}"


# The status breakdown: dossiers submitted that day, by their current status (one column each).
STATUS_COLUMNS = {s.value: status_column(s.value) for s in Status if s != Status.DRAFT}
for _column in STATUS_COLUMNS.values():
    IndicatorRollup.add_to_class(_column, models.PositiveIntegerField(default=0))


class IndicatorChange(models.Model):
    """A dossier an action changed, written in the action's transaction: the worker recomputes
    the days its dates fall on, then deletes the row. No foreign key: a marker must never hold
    a lock on the dossier or block anything."""

    dossier_id = models.BigIntegerField()

    def __str__(self):
        return f"#{self.dossier_id}"


class IndicatorRollupState(models.Model):
    """One row: when the rollups were last rebuilt in full. Until a first rebuild the figures
    come from the dossiers themselves."""

    built_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"built {self.built_at}, refreshed {self.refreshed_at}"
