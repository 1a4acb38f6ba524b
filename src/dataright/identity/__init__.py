"""Data subjects and their identities, stored as a keyed hash (lookup) and a ciphertext (contact), never in clear."""
