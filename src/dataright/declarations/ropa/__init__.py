"""The GDPR Art. 30(1) record of processing activities, built from the declaration."""
