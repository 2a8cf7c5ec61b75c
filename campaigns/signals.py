"""Signals campaigns sends, for the layer above its status changes to act on.

``sending_requested`` is sent by ``campaigns/lifecycle.py`` inside the
transaction of a status change that needs the workers: a campaign that
starts sending (``fresh=True``: snapshot and batches still to make) or
sends again (``fresh=False``: resumed, or re-sending the recipients in
doubt). ``campaigns/tasks.py`` listens and queues the work once the change
commits. The lifecycle therefore never imports the tasks that the engine's
results make it call: no circle between status changes and queueing.

It also tells apps above campaigns about a campaign, without campaigns
importing them: ``campaign_sent``, sent inside the transaction of the change,
like subscribers' signals (a receiver's writes commit or roll back with it).
"""

from __future__ import annotations

from django.dispatch import Signal

# Arguments: campaign (a Campaign), fresh (bool).
sending_requested = Signal()

# Sent when a campaign becomes sent (its ledger is final). Arguments: campaign.
campaign_sent = Signal()
