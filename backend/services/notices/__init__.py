"""The notice board (公告): publishing (publish.py), who a notice is for (scope.py),
what residents see and read (reading.py), what staff see of it (staff.py), and the
notices the system posts itself (system.py)."""
