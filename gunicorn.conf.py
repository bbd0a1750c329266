"""gunicorn settings for production (gunicorn -c gunicorn.conf.py wsgi:app).
Every value can be overridden from the environment."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# WeChat waits 5 s for a push answer; nothing we serve should take longer than this.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Request line and header limits (bodies are capped by the app: JSON_MAX_BYTES,
# MAX_CONTENT_LENGTH for uploads). gunicorn answers past these itself, in HTML without
# the app's security headers, so nginx in front refuses first (README: smaller
# large_client_header_buffers).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
preload_app = False  # each worker builds its own app: no shared connections


def post_worker_init(worker):
    """Each worker has built its app (preload_app is off): the objects it holds now
    (routes, the OpenAPI spec, SQLAlchemy's mappers, ...) live as long as the worker,
    so they leave the garbage collector's generations (``gc.freeze``). A full
    collection then scans only what requests allocate; before, each walked the app's
    ~240,000 objects for ~150 ms and made the slowest requests (bench/scale.py)."""
    import gc

    gc.collect()
    gc.freeze()
