"""Requests: who asked for what, and what was decided.

create       ask for a title, or join the open request for it
approve, deny, cancel, and the transitions sync and the scheduler make
get, list_requests, may_decide
"""

from core.services.requests.common import MAX_REASON, RequestView
from core.services.requests.create import Allowance, CreateResult, allowance, choose_seasons, create
from core.services.requests.decisions import approve, cancel, check_can_decide, deny
from core.services.requests.placement import Option, Placement, PlacementOptions, placement_options
from core.services.requests.progress import (
    edit_seasons,
    expire_due,
    mark_available,
    mark_failed,
    mark_removed,
    retry,
)
from core.services.requests.reading import Abilities, abilities, demand, get, list_requests, may_decide

__all__ = [
    "MAX_REASON",
    "Abilities",
    "Allowance",
    "CreateResult",
    "Option",
    "Placement",
    "PlacementOptions",
    "RequestView",
    "abilities",
    "allowance",
    "approve",
    "cancel",
    "check_can_decide",
    "choose_seasons",
    "create",
    "demand",
    "deny",
    "edit_seasons",
    "expire_due",
    "get",
    "list_requests",
    "mark_available",
    "mark_failed",
    "mark_removed",
    "may_decide",
    "placement_options",
    "retry",
]
