"""The Acknowledgement report as a one-page PDF, for the Acknowledgement page's filters
(managers and API tokens only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from dashboard.analytics import Filters
from dashboard.reports.figures import gather
from dashboard.reports.pdf import report_pdf
from dashboard.saved_goals import GoalsCache
from dashboard.web.access import Manager
from dashboard.web.filters import read_filters

router = APIRouter(include_in_schema=False)
Filtered = Annotated[Filters, Depends(read_filters)]


@router.get("/acks.pdf")
def acks_pdf(request: Request, _who: Manager, filters: Filtered) -> Response:
    """The report of the filters and the period before, one printable page."""
    state = request.app.state
    goals: GoalsCache = state.goals
    with state.engine.connect() as connection:
        _, config, analytics = goals.current(connection)
        ack = gather(connection, analytics, config, filters)
    pdf = report_pdf(ack, datetime.now(state.settings.zone_of(filters.site or "")))
    name = f"greetcue-acknowledgement-{filters.site or 'all'}-{ack.first}-{ack.last}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
