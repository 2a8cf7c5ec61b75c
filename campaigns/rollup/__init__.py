"""The delivery ledger after a campaign: rolled up into exact counts, then its rows deleted.

One row per recipient per campaign is 100 million rows a year for a list of a
million that hears from us twice a week. Those rows matter while a campaign
sends and for a few months after (events arrive, staff read the problem list,
people are segmented by recent engagement); after that only totals and each
person's engagement are ever read. ``rolling`` turns a finished campaign older
than ``TOCSIN_LEDGER_RETENTION_DAYS`` into a ``RolledUpCampaign`` (exact counts
per status and per event kind, top links, the untracked share) and each
recipient's ``PersonEngagement``, then deletes its delivery rows and their
events in batches. ``reading`` is what reports ask.

Why not partitioning: every report, the API's counts and the sending engine
read one campaign at a time through indexes that start with the campaign, so
a report's cost already follows the campaign's size, not the table's; what
grows without end is storage, vacuum and index maintenance, which deleting
old rows solves on PostgreSQL and SQLite alike (partitions need Postgres, a
partition key in the unique constraint, and a scheme to create them).
Appeals keep their rows (who received an appeal is how a gift is attributed), and
so do A/B tests (each variant's figures are read from its rows).

The problem list outlives the rows: who failed, bounced, was refused or
complained, and why, is copied into ``RolledUpProblem`` (a few per cent of the
rows) in the same transaction as each batch's delete, and
``campaigns/reports/problems.py`` reads it. A compact table of its own rather
than Delivery rows left undeleted: the ledger's counters (``DeliveryCount``,
kept by triggers) would go on counting kept rows while ``RolledUpCampaign``
holds the same figures, so any reader adding the two would count them twice;
the person's history would count them beside ``PersonEngagement``; and a
campaign with rows left would stay "due" for ever. It names the person by
reference (erasure replaces the address there, and campaigns/people.py scrubs
it from the reasons).
"""
