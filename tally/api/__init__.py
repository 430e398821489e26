"""The JSON doors: ``public`` (SPEC §11, no authentication), ``staff`` (bearer tokens), the demo control."""
