"""Development settings, read when BVP_ENV is development (the default).

Environment variables (BVP_*) and a .env file override anything here; see bvp/config.py.
Without a database or Redis URL, development runs on embedded servers kept under
BVP_EMBEDDED_DIR (default .bvp/); to use the machine's own servers instead, set e.g.

    DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/bvp_dev"
    REDIS_URL = "redis://127.0.0.1:6379/0"
"""

LOG_LEVEL = "INFO"
