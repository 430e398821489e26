"""Key management: credentials, deputy cards, and (later) the trustee ceremony and decryption."""
