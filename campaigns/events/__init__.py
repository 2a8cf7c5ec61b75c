"""After the send: provider webhooks and first-party tracking become delivery events and suppressions."""
