"""Process machinery: ballot checks off the gevent hub, garbage-collector tuning, rate limits."""
