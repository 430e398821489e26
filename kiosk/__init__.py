"""The deputy's tablet client (SPEC §11 client side): templates, static JavaScript, vendored JS.

No Python lives here: the pages are served by the tally service's web layer (``tally/web/kiosk.py``:
``/kiosk/…`` and the phone receipt page ``/r/<meeting>/<ballot_hash>``), from this folder's
``templates/`` and ``static/``. This file only makes the folder a package, so that those files
install as package data (pyproject.toml). Everything secret (the credential key, the ballot's
plaintext and nonces) stays in the browser; the crypto modules in ``static/js/crypto/`` mirror
``ballot/``.
"""
