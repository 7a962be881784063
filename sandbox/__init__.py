"""Fake sites for tests, benchmarks and the demo: the demo feed, replicas of the real services
(one module per service), a misbehaving site, a feed a test holds, a folder feed, a balancer and
a client that drives the dashboard's callbacks as a browser does.

Production code imports it only from the demo entry points (`--demo`, `--source demo`,
`demo-feed`); nothing here imports the store, the scraper, the engine or the dashboard.
"""
