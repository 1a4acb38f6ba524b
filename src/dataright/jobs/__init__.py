"""Background work: one job abstraction (a row in ``jobs``), two runners (in-process, Dramatiq), schedules."""
