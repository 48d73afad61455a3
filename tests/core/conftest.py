"""Core tests: the app and its live server come from tests/conftest.py (tests/kit/server.py);
tenants and keys of any surface from tests/kit/tenants.py. A test that drives one surface as
the reference imports that surface's fixtures itself (e.g. tests/core/test_bad_input.py)."""
