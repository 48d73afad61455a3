"""Shared test helpers for every surface.

- `tests.kit.server`: the app per backend (embedded SQLite; PostgreSQL + Redis when
  AGENTYARD_TEST_DATABASE_URL / AGENTYARD_TEST_REDIS_URL are set) served live by uvicorn; its
  fixtures (`backend`, `settings`, `app`, `server`) reach every test through tests/conftest.py.
- `tests.kit.tenants`: `make_key(surface, tenant=None, kind=..., scopes=...)` and
  `make_tenant(surface)`, minted as the operator's CLI mints them (`Surface.mint`);
  `Key.headers` presents the key the way the surface reads it.
- `tests.kit.contract`: the Schemathesis harness (`config`, `load_schema`, `openapi_of`,
  `validate_response`, `positive`, `Chooser`); its docstring shows a whole contract test.

A new surface's conftest starts from:

    @pytest.fixture
    def key(server):
        return make_key("my-surface")

    @pytest.fixture
    def http(server, key):
        with httpx.Client(base_url=server + "/my-surface", headers=key.headers) as client:
            yield client
"""
