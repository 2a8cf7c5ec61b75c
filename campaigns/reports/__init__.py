"""Figures staff read: the campaign report, its charts, the dashboard."""
