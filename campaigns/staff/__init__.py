"""Staff concerns: roles, two-factor login, the audit log."""
