"""gunicorn's settings that a command line cannot carry (``gunicorn --config config/gunicorn.py``).

With ``LOG_FORMAT=json`` gunicorn's own error and access logs become JSON
lines too (config/observability.py), like everything Django and Celery log.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.observability import gunicorn_logging, log_format

if log_format(os.environ.get("LOG_FORMAT", "")) == "json":
    logconfig_dict = gunicorn_logging(log_format="json")
    # The access line as gunicorn writes it, inside the JSON object's "message".
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
