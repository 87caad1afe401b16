"""A time budget for a whole run: how many seconds of swaps the next run may use.

The default plan must fit its time on 2 cores whatever the roles' swap times are that day. The
runs keep their order and their fixed parts (setup, steady windows, tear-down); the collection's
strategies share what is left equally, each run's playbook starts no new swap once its share is
used (up to the plan's swap count; at least one). The report shows the swaps each run did, so a
run cut short by the budget reads as fewer than 20 swaps, not as a pass.
"""

MIN_SWAP_SECONDS = 1.0


def swap_seconds(now, budget_end, fixed_left, sharing_runs):
    """Seconds of swaps for the next of ``sharing_runs`` runs that share the budget, when the
    runs still to come (this one included) need ``fixed_left`` seconds besides their swaps.
    None when there is no budget; never less than MIN_SWAP_SECONDS (one swap always runs)."""
    if budget_end is None:
        return None
    left = budget_end - now - fixed_left
    return max(MIN_SWAP_SECONDS, left / max(1, sharing_runs))


def fixed_seconds(plans, overhead, baseline_seconds):
    """What the plans need besides the budgeted swaps: ``overhead(plan)`` each, plus the whole of
    every plan that does not share the budget (``baseline_seconds(plan)``; None: it shares)."""
    total = 0.0
    for plan in plans:
        whole = baseline_seconds(plan)
        total += whole if whole is not None else overhead(plan)
    return total
