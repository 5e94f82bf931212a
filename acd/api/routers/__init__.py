"""Routers of the supervisor API, one module per resource."""

from .agents import agents_router
from .audit import audit_router
from .kpi import kpi_router
from .queues import queues_router

__all__ = ["agents_router", "audit_router", "kpi_router", "queues_router"]
