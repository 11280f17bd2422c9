"""SLA: first-response targets by policy (config.py), the business-hours clock (clock.py),
the due time every ticket carries (due.py), and the watchdog that escalates tickets
nearing or past it (watchdog.py, escalate.py, schedule.py)."""
