"""The operator: whoever runs idkarr's command line on its machine, who sees and may do everything.

Services that act for someone take `int | Operator`: a user's id, checked against that user's permissions,
or OPERATOR, checked against nothing. It is a value of its own rather than a missing id (None), so a caller
that forgot who is asking is a type error, not the operator; the command line passes OPERATOR, and nothing
a chat platform or the HTTP API receives can turn into it.
"""

from __future__ import annotations

from typing import Final, final

__all__ = ["OPERATOR", "Operator", "Someone"]


@final
class Operator:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OPERATOR"


OPERATOR: Final = Operator()

# Who is asking: a user's id, or the operator.
Someone = int | Operator
