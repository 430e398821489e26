"""Crash, fault and fuzzing campaigns (issue #6). ``test_*.py`` files are CI-sized and run in
``./test.sh``; the scripts run the full-sized campaigns (docs/reliability.md)."""
