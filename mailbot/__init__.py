"""mailbot: every inbound customer message becomes one enriched, acknowledged ticket."""
