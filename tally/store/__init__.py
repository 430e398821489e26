"""The store: the database, the models, the public log and its keys, group commit, caches of logged entries, the audit trail, migrations."""
