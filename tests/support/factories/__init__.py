"""Test data: lists, people, consents, campaigns, deliveries, donations, actions."""
