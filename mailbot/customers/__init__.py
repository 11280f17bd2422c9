"""Customer data from outside mailbot: a CSV import and an HTTP lookup (issue 9)."""
