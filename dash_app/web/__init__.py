"""The dashboard's web layer: sign-in, the HTTP guard, serving (one process or gunicorn
workers), background jobs, the per-app context, image routes, uploads, input validation and the
small JSON API. Pages reach the engine and the store through the context."""
