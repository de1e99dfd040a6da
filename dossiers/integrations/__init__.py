"""Connections to other systems: the change feed (feed.py), webhooks (webhooks.py, targets.py)
and the national portal's payload profile (national_portal.py). Each module has one job; none
knows HTTP requests from pages."""
