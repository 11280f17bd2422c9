"""Self-service: FAQ entries per language, suggested in acknowledgements where they help,
with "was this helpful?" links, and the satisfaction question of a solved ticket.

The one default threshold lives here, where the settings can read it without loading
the ranking's libraries: measured on tests/faq/labelled.jsonl by
benchmarks/faq_threshold.py (precision 1.00, recall 0.97 at 1.5).
"""

DEFAULT_MIN_SCORE = 1.5
