"""Team rules: whom a member manages, and whom they may make the owner of a record.

What a manager sees is `owner_visibility` in saas/customers/rules.py (the one ownership rule);
whom they manage and may make an owner is `saas/accounts/ownership.py`, below customers, leads and
deals, which all use it; teams re-export it for their own callers.
"""

from __future__ import annotations

from saas.accounts.ownership import managed_member_ids, may_own_for

__all__ = ["managed_member_ids", "may_own_for"]
