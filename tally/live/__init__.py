"""The live channel (Socket.IO ``/live``, SPEC §11): broadcasts after commit, and turnout coalesced per instance."""
