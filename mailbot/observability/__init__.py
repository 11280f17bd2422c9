"""What an operator watches: Prometheus figures, structured logs, health and readiness.

Workers and pollers run on other processes (and hosts) than the web process that is
scraped, so nothing here lives in one process's memory: counts are read from the store
at scrape time, and the few figures only a worker or poller sees at the moment they
happen (how long an acknowledgement took, that a mailbox is up to date) are published
to Redis, where any web process reads them.
"""
